/** A word written as is: a `"$VARIABLE"` the job's shell expands (see `shellVariable`). */
export interface ShellRawWord {
  readonly raw: string;
}

export type ShellWord = string | ShellRawWord;

/** Quotes one shell word for POSIX sh; plain words stay as they are so job logs read well. */
export function shellQuote(word: string): string {
  if (/^[A-Za-z0-9_./:=@%+-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** `"$NAME"`: the value of a CI/CD variable as one word, expanded by the job's shell. */
export function shellVariable(name: string): ShellRawWord {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`not a variable name: ${name}`);
  return { raw: `"$${name}"` };
}

export function shellCommand(words: readonly ShellWord[]): string {
  return words.map((w) => (typeof w === 'string' ? shellQuote(w) : w.raw)).join(' ');
}
