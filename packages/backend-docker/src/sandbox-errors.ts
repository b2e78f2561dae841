/** The sandbox was gone before the command started: safe to recreate it and try once more. */
export class SandboxGoneError extends Error {
  override name = "SandboxGoneError";
}

/** The sandbox died while the command ran: the command's fate is unknown, so it is not retried. */
export class SandboxLostError extends Error {
  override name = "SandboxLostError";
}
