// What a command is given by its bin/ script: its arguments, environment,
// working directory and streams. Tests give their own.
export interface CommandIo {
  argv: readonly string[];
  env: NodeJS.ProcessEnv;
  cwd: string;
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
}
