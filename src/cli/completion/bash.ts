// The bash completion script of vauban and vauban-ci. Options and their
// fixed values are written into the script; masters, branches and stages are
// asked of `vauban completion --candidates` as the operator types, so they
// follow config.yml and the repository. Needs bash alone (no bash-completion).
import type { CommandSpec, OptionSpec, ValueKind } from './spec.js';

/** `-r|--rootfs` */
function names(option: OptionSpec): string {
  return [option.short, option.long].filter(Boolean).join('|');
}

/** The shell code that fills COMPREPLY with the values of `value` for the word in $cur. */
function valueCode(value: ValueKind): string {
  switch (value.kind) {
    case 'choices':
      return `COMPREPLY=($(compgen -W '${value.choices.join(' ')}' -- "$cur"))`;
    case 'file':
      return 'compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -f -- "$cur"))';
    case 'dir':
      return 'compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -d -- "$cur"))';
    case 'masters':
    case 'branches':
    case 'stages':
      return `_vauban_ask ${value.kind}`;
    case 'free':
      return ':';
  }
}

/** One function per command: `_vauban`, `_vauban_ci`, `_vauban_boot`... */
function functionName(command: CommandSpec): string {
  return `_${command.name.replace(/[^A-Za-z0-9]+/g, '_')}`;
}

function commandFunction(command: CommandSpec, depth: number): string {
  const withValue = command.options.filter((option) => option.value !== undefined);
  const allNames = command.options.flatMap((option) => [option.short, option.long].filter((name): name is string => name !== undefined));
  // Short options with fixed values take them attached too (-rno), as vauban.sh's argbash did.
  const attached = withValue.filter((option) => option.short !== undefined && option.value?.kind === 'choices');
  const lines: string[] = [`${functionName(command)}() {`];
  if (withValue.length > 0) {
    lines.push('  case $option in');
    for (const option of withValue) lines.push(`    ${names(option)}) ${valueCode(option.value as ValueKind)}; return ;;`);
    lines.push('  esac');
  }
  if (attached.length > 0) {
    lines.push('  case $cur in');
    for (const option of attached) {
      const choices = (option.value as { choices: string[] }).choices.map((choice) => `${option.short}${choice}`).join(' ');
      lines.push(`    ${option.short}?*) COMPREPLY=($(compgen -W '${choices}' -- "$cur")); return ;;`);
    }
    lines.push('  esac');
  }
  lines.push(`  if [[ $cur == -* ]]; then COMPREPLY=($(compgen -W '${allNames.join(' ')}' -- "$cur")); return; fi`);
  const subcommands = command.subcommands ?? [];
  if (subcommands.length > 0) {
    lines.push(`  (( COMP_CWORD == ${depth + 1} )) && COMPREPLY=($(compgen -W '${subcommands.map((one) => one.name.split(' ').at(-1)).join(' ')}' -- "$cur"))`);
  }
  if (command.positional !== undefined) {
    lines.push('  local before=("${COMPREPLY[@]}")');
    lines.push(`  ${valueCode(command.positional)}`);
    lines.push('  COMPREPLY=("${before[@]}" "${COMPREPLY[@]}")');
  }
  lines.push('  return 0', '}');
  return lines.join('\n');
}

export function bashScript(commands: readonly CommandSpec[]): string {
  // Subcommands by their full name: `vauban boot` has the function _vauban_boot.
  const qualified = commands.map((command) => ({ ...command, subcommands: (command.subcommands ?? []).map((sub) => ({ ...sub, name: `${command.name} ${sub.name}` })) }));
  const functions = qualified.flatMap((command) => [commandFunction(command, 0), ...command.subcommands.map((sub) => commandFunction(sub, 1))]);
  const valueOptions = qualified
    .flatMap((command) => [command, ...command.subcommands])
    .flatMap((command) => command.options.filter((option) => option.value !== undefined).flatMap((option) => [option.short, option.long]));
  const pending = [...new Set(valueOptions.filter((name): name is string => name !== undefined))].join('|');
  const dispatch = qualified.map((command) => {
    const subs = command.subcommands.map((sub) => `        ${sub.name.split(' ').at(-1)}) ${functionName(sub)}; return ;;`);
    return [
      `    ${command.name})`,
      ...(subs.length > 0 ? ['      (( COMP_CWORD > 1 )) && case ${COMP_WORDS[1]} in', ...subs, '      esac'] : []),
      `      ${functionName(command)} ;;`,
    ].join('\n');
  });
  return `# bash completion of vauban and vauban-ci, written by \`vauban completion bash\`.
# Use it now:     source <(vauban completion bash)
# or for good:    vauban completion bash > /etc/bash_completion.d/vauban
# Masters come from config.yml of the working directory; branches and stages
# from ANSIBLE_REPO (environment or .secrets.env) when it is a local folder.

# Asks vauban for masters, branches or stages matching $cur.
_vauban_ask() {
  local command=\${COMP_WORDS[0]%-ci} branch=master i word next candidate
  # The branch of the command line so far: -b x, -bx, --branch x, --branch=x (bash splits at =).
  for (( i = 1; i < COMP_CWORD; i++ )); do
    word=\${COMP_WORDS[i]} next=\${COMP_WORDS[i+1]}
    [[ $next == = ]] && next=\${COMP_WORDS[i+2]}
    case $word in
      -b|--branch) branch=$next ;;
      -b?*) branch=\${word#-b} ;;
    esac
  done
  local IFS=$'\\n'
  COMPREPLY=($("$command" completion --candidates "$1" --branch "$branch" -- "$cur" 2>/dev/null | while read -r candidate; do [[ $candidate == "$cur"* ]] && printf '%s\\n' "$candidate"; done))
  # branch@ goes on with that branch's playbooks: no space after it.
  if [[ \${#COMPREPLY[@]} == 1 && \${COMPREPLY[0]} == *@ ]]; then compopt -o nospace 2>/dev/null; fi
  return 0
}

${functions.join('\n\n')}

_vauban_complete() {
  local cur=\${COMP_WORDS[COMP_CWORD]} prev=\${COMP_WORDS[COMP_CWORD-1]} option=
  COMPREPLY=()
  # The option whose value is typed: after "-x ", "--long " or "--long=" (bash makes "=" a word of its own).
  if [[ $cur == = ]]; then
    cur= option=$prev
  elif [[ $prev == = ]] && (( COMP_CWORD >= 2 )); then
    option=\${COMP_WORDS[COMP_CWORD-2]}
  else
    case $prev in
      ${pending}) option=$prev ;;
    esac
  fi
  case \${COMP_WORDS[0]##*/} in
${dispatch.join('\n')}
  esac
}

complete -F _vauban_complete ${commands.map((command) => command.name).join(' ')}
`;
}
