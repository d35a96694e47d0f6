/** One entry of the error catalogue: what went wrong, and what the user does about it. */
export interface ErrorCodeInfo {
  readonly summary: string;
  readonly fix: string;
}
