/** The CloudFormation stack name; the CLI and the local environment find resources through it. */
export const STACK_NAME = 'Sluice';
