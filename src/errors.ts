// One error type for everything a user can get wrong. It names the place (a JSON path
// such as `layers[3].kernel`, or `layers[2] (conv2d "c2")`), says what is wrong, and
// says how to fix it. The CLI prints it as one paragraph and exits 2.

export class ConvgenError extends Error {
  constructor(
    /** JSON path or layer label: `layers[3].kernel`, `layers[2] (conv2d "c2")`, `input` */
    readonly where: string,
    /** what is wrong, with the arithmetic when a size is involved */
    readonly problem: string,
    /** what to change */
    readonly fix: string,
    /** the file, when known (the CLI fills it in) */
    readonly file?: string,
  ) {
    super(`${file ? file + ': ' : ''}${where}: ${problem}${fix ? `; ${fix}` : ''}`);
    this.name = 'ConvgenError';
  }

  /** the same error, attributed to a file */
  inFile(file: string): ConvgenError {
    return new ConvgenError(this.where, this.problem, this.fix, file);
  }
}

/**
 * exit codes: 0 ok; 1 a check failed (`convgen check`, or `build --check`: an output is out of
 * date); 2 bad input or usage, or an output folder a build refuses to replace (`build`, and
 * `build --check` reporting one)
 */
export const EXIT_OK = 0;
export const EXIT_CHECK_FAILED = 1;
export const EXIT_BAD_INPUT = 2;
