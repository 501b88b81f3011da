// `vauban completion bash|zsh|fish`: prints the completion script of vauban
// and vauban-ci for that shell. The scripts call back
// `vauban completion --candidates <kind> -- <word>` for what only the working
// directory knows (masters of config.yml, branches and playbooks).
import { Command, InvalidArgumentError, Option } from 'commander';
import { VaubanError } from '../errors.js';
import { CANDIDATE_KINDS } from './completion/candidates.js';
import { commanderParse, runCommand, type CommandDefinition } from './shell.js';
import type { CommandIo } from './io.js';

interface CompletionFlags {
  candidates?: 'masters' | 'branches' | 'stages';
  branch: string;
}

function completionProgram(): Command {
  return new Command('vauban completion')
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
}

const completion: CommandDefinition<CompletionFlags & { word: string | undefined }, void, 'nothing', false> = {
  name: 'vauban completion',
  parse: commanderParse(completionProgram, (program) => {
    const [word] = program.processedArgs as Array<string | undefined>;
    return { ...program.opts<CompletionFlags>(), word };
  }),
  debug: () => false,
  settings: false,
  plainOutput: true,
  needs: 'nothing',
  work: async ({ io, flags }) => {
    const { word } = flags;

    if (flags.candidates !== undefined) {
      const { completionCandidates } = await import('./completion/candidates.js');
      const values = await completionCandidates(flags.candidates, { cwd: io.cwd, env: io.env, branch: flags.branch, current: word ?? '' });
      io.stdout.write(values.map((value) => `${value}\n`).join(''));
      return 0;
    }

    const { SHELLS, completionSpecs } = await import('./completion/spec.js');
    if (word === undefined || !(SHELLS as readonly string[]).includes(word)) {
      throw new VaubanError(`${word === undefined ? 'which shell?' : `no completion for the shell '${word}'`}: give one of ${SHELLS.join(', ')}, e.g. vauban completion bash`);
    }
    const specs = await completionSpecs();
    const scripts = {
      bash: async () => (await import('./completion/bash.js')).bashScript(specs),
      zsh: async () => (await import('./completion/zsh.js')).zshScript(specs),
      fish: async () => (await import('./completion/fish.js')).fishScript(specs),
    };
    io.stdout.write(await scripts[word as keyof typeof scripts]());
    return 0;
  },
};

export function mainCompletion(io: CommandIo): Promise<number> {
  return runCommand(completion, io);
}
