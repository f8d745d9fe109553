/** Renders a run's figures as the summary table and as bench/RESULTS.md. */
export function renderTable(results: unknown): string {
  return JSON.stringify(results, null, 2).slice(0, 4000);
}

export function renderResults(results: unknown): string {
  return `# Benchmark results\n\n\`\`\`json\n${JSON.stringify(results, null, 2)}\n\`\`\`\n`;
}
