// Counted nouns in sentences: "1 test", "3 tests", never "1 tests".

/** `count` and the noun, singular for exactly one. */
export function plural(count: number, one: string, many = `${one}s`): string {
  return `${count} ${count === 1 ? one : many}`;
}
