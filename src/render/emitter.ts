// The one place indentation comes from: renderers call line() and block(), never count
// spaces. Shared by the TS and WGSL renderers.

export class Emitter {
  private readonly lines: string[] = [];
  private depth = 0;

  constructor(private readonly indent = '  ') {}

  /** one line at the current depth (an empty string gives an empty line) */
  line(text = ''): this {
    this.lines.push(text === '' ? '' : this.indent.repeat(this.depth) + text);
    return this;
  }

  /** `body` one level deeper */
  indented(body: () => void): this {
    this.depth++;
    body();
    this.depth--;
    return this;
  }

  /** `open`, then `body` one level deeper, then `close` */
  block(open: string, body: () => void, close = '}'): this {
    this.line(open);
    this.indented(body);
    return this.line(close);
  }

  /** several lines (a pre-rendered text) at the current depth */
  lines_(text: string): this {
    for (const l of text.replace(/\n$/, '').split('\n')) this.line(l);
    return this;
  }

  text(): string {
    return this.lines.join('\n') + '\n';
  }
}
