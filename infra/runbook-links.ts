/** Alarm descriptions that tell the on-call what happened, who owns it and where the runbook is. */

export interface RunbookDescriptionProps {
  readonly summary: string;
  readonly owner: string;
  /** The runbook's file name in `runbooks/`, without `.md`. */
  readonly runbook: string;
  readonly baseUrl: string;
}

export function runbookUrl(baseUrl: string, runbook: string): string {
  return `${baseUrl.replace(/\/+$/, '')}/${runbook}.md`;
}

export function runbookDescription(props: RunbookDescriptionProps): string {
  // CloudWatch caps alarm descriptions at 1024 characters.
  const text = `${props.summary}\nOwner: ${props.owner}\nRunbook: ${runbookUrl(props.baseUrl, props.runbook)}`;
  if (text.length > 1024)
    throw new Error(`alarm description is ${text.length} characters; the limit is 1024`);
  return text;
}

/** Pulls the runbook URL back out of an alarm description (used by tests and the CLI). */
export function runbookUrlIn(description: string): string | undefined {
  return /^Runbook: (\S+)$/m.exec(description)?.[1];
}

/** The sections every runbook has, in this order, as `## <section>` headings. */
export const RUNBOOK_SECTIONS = ['What it means', 'First checks', 'Fixes', 'Escalation', 'Owner'] as const;

/** The fixed sections a runbook's Markdown lacks (empty when it has them all). */
export function runbookSectionsMissing(markdown: string): string[] {
  const headings = new Set([...markdown.matchAll(/^## (.+?)\s*$/gm)].map((m) => m[1]));
  return RUNBOOK_SECTIONS.filter((section) => !headings.has(section));
}
