/** The `#{name}` input arguments a command uses, each once, in order. */
export function placeholders(command: string): string[] {
  return [...new Set([...command.matchAll(/#\{([A-Za-z0-9_-]+)\}/g)].map((m) => m[1]))];
}
