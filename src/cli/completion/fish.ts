// The fish completion script of vauban and vauban-ci; masters, branches and
// stages are asked of `vauban completion --candidates` as the operator types.
import type { CommandSpec, OptionSpec, ValueKind } from './spec.js';

function quote(text: string): string {
  return `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

function valueFlags(value: ValueKind): string {
  switch (value.kind) {
    case 'choices':
      return `-x -a ${quote(value.choices.join(' '))}`;
    case 'file':
      return '-r -F';
    case 'dir':
      return `-x -a '(__fish_complete_directories)'`;
    case 'masters':
    case 'branches':
    case 'stages':
      return `-x -a '(__vauban_ask ${value.kind})'`;
    case 'free':
      return '-x';
  }
}

function optionLine(command: string, condition: string | undefined, option: OptionSpec): string {
  const parts = ['complete -c', command];
  if (condition !== undefined) parts.push('-n', quote(condition));
  if (option.short !== undefined) parts.push('-s', option.short.replace(/^-/, ''));
  parts.push('-l', option.long.replace(/^--/, ''));
  if (option.value !== undefined) parts.push(valueFlags(option.value));
  parts.push('-d', quote(option.description));
  return parts.join(' ');
}

function commandLines(command: CommandSpec): string[] {
  const subcommands = command.subcommands ?? [];
  const names = subcommands.map((sub) => sub.name).join(' ');
  const main = subcommands.length > 0 ? `not __fish_seen_subcommand_from ${names}` : undefined;
  const lines = [`# ${command.name}`, `complete -c ${command.name} -f`];
  for (const option of command.options) lines.push(optionLine(command.name, main, option));
  for (const sub of subcommands) lines.push(`complete -c ${command.name} -n __fish_use_subcommand -a ${sub.name} -d ${quote(`vauban ${sub.name}`)}`);
  if (command.positional !== undefined) {
    const positional = command.positional.kind === 'choices' ? `-a ${quote(command.positional.choices.join(' '))}` : valueFlags(command.positional).replace(/^-x /, '');
    lines.push(`complete -c ${command.name}${main === undefined ? '' : ` -n ${quote(main)}`} ${positional}`);
  }
  for (const sub of subcommands) {
    const condition = `__fish_seen_subcommand_from ${sub.name}`;
    for (const option of sub.options) lines.push(optionLine(command.name, condition, option));
    if (sub.positional?.kind === 'choices') lines.push(`complete -c ${command.name} -n ${quote(condition)} -a ${quote(sub.positional.choices.join(' '))}`);
  }
  return lines;
}

export function fishScript(commands: readonly CommandSpec[]): string {
  return `# fish completion of vauban and vauban-ci, written by \`vauban completion fish\`.
# Use it now:    vauban completion fish | source
# or for good:   vauban completion fish > ~/.config/fish/completions/vauban.fish
#                (and a link to it named vauban-ci.fish)
# Masters come from config.yml of the working directory; branches and stages
# from ANSIBLE_REPO (environment or .secrets.env) when it is a local folder.

# Prints the masters, branches or stages vauban knows of.
function __vauban_ask --argument-names kind
    set -l tokens (commandline -opc)
    set -l branch master
    for i in (seq 2 (count $tokens))
        switch $tokens[$i]
            case -b --branch
                set -l next (math $i + 1)
                test $next -le (count $tokens); and set branch $tokens[$next]
            case '--branch=*'
                set branch (string replace -- --branch= '' $tokens[$i])
            case '-b?*'
                set branch (string sub -s 3 -- $tokens[$i])
        end
    end
    set -l command (string replace -r -- '-ci$' '' $tokens[1])
    $command completion --candidates $kind --branch $branch -- (commandline -ct) 2>/dev/null
end

${commands.map((command) => commandLines(command).join('\n')).join('\n\n')}
`;
}
