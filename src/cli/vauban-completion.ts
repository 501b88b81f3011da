// `vauban completion bash|zsh|fish`: prints the completion script of vauban
// and vauban-ci for that shell. The scripts call back
// `vauban completion --candidates <kind> -- <word>` for what only the working
// directory knows (masters of config.yml, branches and playbooks).
import { Command, InvalidArgumentError, Option } from 'commander';
import { parseCommand } from './command.js';
import type { MainIo } from './vauban.js';

interface CompletionFlags {
  candidates?: 'masters' | 'branches' | 'stages';
  branch: string;
}

export async function mainCompletion(io: MainIo): Promise<number> {
  const { CANDIDATE_KINDS } = await import('../completion/candidates.js');
  const program = new Command('vauban completion')
    .description('print the shell completion of vauban and vauban-ci for bash, zsh or fish')
    .argument('[shell]', 'bash, zsh or fish')
    .addOption(
      new Option('--candidates <kind>', 'print the values of one kind the scripts ask for')
        .argParser((value) => {
          if (!(CANDIDATE_KINDS as readonly string[]).includes(value)) throw new InvalidArgumentError(`expected ${CANDIDATE_KINDS.join(', ')}`);
          return value;
        })
        .hideHelp(),
    )
    .addOption(new Option('--branch <branch>', 'the branch of the command line').default('master').hideHelp())
    .addHelpText(
      'after',
      [
        '',
        'Load it in the current shell, or install it for good:',
        '  bash: source <(vauban completion bash)      vauban completion bash > /etc/bash_completion.d/vauban',
        '  zsh:  source <(vauban completion zsh)       vauban completion zsh > "${fpath[1]}/_vauban"',
        '  fish: vauban completion fish | source       vauban completion fish > ~/.config/fish/completions/vauban.fish',
        '(fish: also link vauban-ci.fish to it, or source it for vauban-ci too)',
      ].join('\n'),
    );
  const ended = parseCommand(program, io);
  if (ended !== undefined) return ended;
  const flags = program.opts<CompletionFlags>();
  const [word] = program.processedArgs as Array<string | undefined>;

  if (flags.candidates !== undefined) {
    const { completionCandidates } = await import('../completion/candidates.js');
    const values = await completionCandidates(flags.candidates, { cwd: io.cwd, env: io.env, branch: flags.branch, current: word ?? '' });
    io.stdout.write(values.map((value) => `${value}\n`).join(''));
    return 0;
  }

  const { SHELLS, completionSpecs } = await import('../completion/spec.js');
  if (word === undefined || !(SHELLS as readonly string[]).includes(word)) {
    io.stderr.write(`error: ${word === undefined ? 'which shell?' : `no completion for the shell '${word}'`}: give one of ${SHELLS.join(', ')}, e.g. vauban completion bash\n`);
    return 1;
  }
  const specs = await completionSpecs();
  const scripts = {
    bash: async () => (await import('../completion/bash.js')).bashScript(specs),
    zsh: async () => (await import('../completion/zsh.js')).zshScript(specs),
    fish: async () => (await import('../completion/fish.js')).fishScript(specs),
  };
  io.stdout.write(await scripts[word as keyof typeof scripts]());
  return 0;
}
