/** A GitLab CI job or pipeline as plain data; js-yaml turns it into text. */
export type CiObject = Record<string, unknown>;
