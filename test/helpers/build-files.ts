// Owns reading the two native build descriptions for the tests that keep them in sync:
// binding.gyp (a Python literal: dicts, lists, quoted strings, # comments, trailing commas) and
// CMakeLists.txt (commands with their arguments). Both are parsed, not matched line by line, so
// the tests keep working when entries move, are reordered or new files are added.

/** A gyp value: a string, a list or a dict. */
export type GypValue = string | number | GypValue[] | { [key: string]: GypValue };

/** Parses the text of a .gyp file into plain JavaScript values. */
export function parseGyp(text: string): GypValue {
  let i = 0;
  const fail = (message: string): never => {
    const line = text.slice(0, i).split('\n').length;
    throw new Error(`binding.gyp line ${line}: ${message}`);
  };
  const skip = (): void => {
    for (;;) {
      while (i < text.length && /\s/.test(text[i]!)) i++;
      if (text[i] === '#') {
        while (i < text.length && text[i] !== '\n') i++;
        continue;
      }
      return;
    }
  };
  const stringAt = (): string => {
    const quote = text[i]!;
    i++;
    let out = '';
    while (i < text.length && text[i] !== quote) {
      if (text[i] === '\\') {
        i++;
        const c = text[i];
        out += c === 'n' ? '\n' : c === 't' ? '\t' : (c ?? '');
      } else out += text[i];
      i++;
    }
    if (text[i] !== quote) fail('unterminated string');
    i++;
    // Adjacent string literals concatenate, as in Python.
    skip();
    if (text[i] === "'" || text[i] === '"') return out + stringAt();
    return out;
  };
  const value = (): GypValue => {
    skip();
    const c = text[i];
    if (c === "'" || c === '"') return stringAt();
    if (c === '[') {
      i++;
      const list: GypValue[] = [];
      for (;;) {
        skip();
        if (text[i] === ']') {
          i++;
          return list;
        }
        list.push(value());
        skip();
        if (text[i] === ',') i++;
        else if (text[i] !== ']') fail(`expected , or ] but found ${text[i]}`);
      }
    }
    if (c === '{') {
      i++;
      const dict: { [key: string]: GypValue } = {};
      for (;;) {
        skip();
        if (text[i] === '}') {
          i++;
          return dict;
        }
        const key = value();
        if (typeof key !== 'string') fail('dict key is not a string');
        skip();
        if (text[i] !== ':') fail(`expected : but found ${text[i]}`);
        i++;
        dict[key as string] = value();
        skip();
        if (text[i] === ',') i++;
        else if (text[i] !== '}') fail(`expected , or } but found ${text[i]}`);
      }
    }
    const number = /^-?\d+/.exec(text.slice(i));
    if (number) {
      i += number[0].length;
      return Number(number[0]);
    }
    return fail(`unexpected ${c === undefined ? 'end of file' : `character ${c}`}`);
  };
  const result = value();
  skip();
  if (i !== text.length) fail('text after the top-level value');
  return result;
}

/** A dict of a parsed .gyp file (throws when the value is not one). */
export function dict(value: GypValue | undefined, what: string): { [key: string]: GypValue } {
  if (value === undefined || typeof value !== 'object' || Array.isArray(value)) throw new Error(`${what} is not a dict`);
  return value;
}

/** A list of strings of a parsed .gyp file; [] when absent. */
export function strings(value: GypValue | undefined, what: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) throw new Error(`${what} is not a list of strings`);
  return value as string[];
}

/** The target named `name` in a parsed binding.gyp. */
export function gypTarget(gyp: GypValue, name: string): { [key: string]: GypValue } {
  const targets = dict(gyp, 'binding.gyp')['targets'];
  if (!Array.isArray(targets)) throw new Error('binding.gyp has no targets list');
  const target = targets.find((t) => dict(t, 'a target')['target_name'] === name);
  return dict(target, `target '${name}'`);
}

/** One command of a CMakeLists.txt: its name (lower case) and its arguments, unquoted. */
export interface CMakeCommand {
  name: string;
  args: string[];
}

/** Every command of a CMakeLists.txt, in order, nested blocks included. */
export function parseCMake(text: string): CMakeCommand[] {
  const commands: CMakeCommand[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '#') {
      while (i < text.length && text[i] !== '\n') i++;
      continue;
    }
    const head = /^([A-Za-z_][A-Za-z0-9_]*)\s*\(/.exec(text.slice(i));
    if (!head || (i > 0 && /[A-Za-z0-9_]/.test(text[i - 1]!))) {
      i++;
      continue;
    }
    i += head[0].length;
    const args: string[] = [];
    let depth = 0;
    let current: string | null = null;
    const push = (): void => {
      if (current !== null) args.push(current);
      current = null;
    };
    while (i < text.length) {
      const ch = text[i]!;
      if (ch === '"') {
        i++;
        let quoted = '';
        while (i < text.length && text[i] !== '"') {
          if (text[i] === '\\' && i + 1 < text.length) {
            quoted += text[i + 1];
            i += 2;
            continue;
          }
          quoted += text[i];
          i++;
        }
        i++;
        current = (current ?? '') + quoted;
        continue;
      }
      if (ch === '#') {
        push();
        while (i < text.length && text[i] !== '\n') i++;
        continue;
      }
      if (ch === '(') depth++;
      if (ch === ')') {
        if (depth === 0) {
          push();
          i++;
          break;
        }
        depth--;
      }
      if (/\s/.test(ch)) push();
      else current = (current ?? '') + ch;
      i++;
    }
    commands.push({ name: head[1]!.toLowerCase(), args });
  }
  return commands;
}

/** The arguments of every `name(first ...)` command, without the first argument. */
export function cmakeCalls(commands: CMakeCommand[], name: string, first: string): string[][] {
  return commands.filter((c) => c.name === name && c.args[0] === first).map((c) => c.args.slice(1));
}
