// The zsh completion script of vauban and vauban-ci (_arguments specs from
// the commands' own options); masters, branches and stages are asked of
// `vauban completion --candidates` as the operator types.
import type { CommandSpec, OptionSpec, ValueKind } from './spec.js';

/** A description inside an _arguments spec in single quotes: no ', and [ ] : escaped. */
function describe(text: string): string {
  return text.replace(/([[\]:\\])/g, '\\$1').replace(/'/g, "'\\''");
}

function action(value: ValueKind): string {
  switch (value.kind) {
    case 'choices':
      return `(${value.choices.join(' ')})`;
    case 'file':
      return '_files';
    case 'dir':
      return '_files -/';
    case 'masters':
    case 'branches':
    case 'stages':
      return `{_vauban_ask ${value.kind}}`;
    case 'free':
      return ' ';
  }
}

function message(option: OptionSpec): string {
  return option.long.replace(/^--/, '').replace(/-/g, ' ');
}

/** The _arguments specs of one option: its short and long forms exclude each other. */
function specsOf(option: OptionSpec): string[] {
  const forms = [option.short, option.long].filter((form): form is string => form !== undefined);
  const exclusion = forms.length > 1 ? `(${forms.join(' ')})` : '';
  const tail = option.value === undefined ? '' : `:${message(option)}:${action(option.value)}`;
  return forms.map((form) => {
    // -r+: the value attached (-rno) or apart; --rootfs=: --rootfs=no or --rootfs no.
    const suffix = option.value === undefined ? '' : form.startsWith('--') ? '=' : '+';
    return `'${exclusion}${form}${suffix}[${describe(option.description)}]${tail}'`;
  });
}

/** `vauban boot` -> _vauban_cmd_vauban_boot: never _vauban, the dispatcher (the name of the autoloaded file). */
function functionName(name: string): string {
  return `_vauban_cmd_${name.replace(/[^A-Za-z0-9]+/g, '_')}`;
}

function commandFunction(command: CommandSpec, name: string): string {
  const specs = command.options.flatMap(specsOf);
  const subcommands = command.subcommands ?? [];
  const lines = [`${functionName(name)}() {`];
  if (subcommands.length > 0) {
    lines.push('  if (( CURRENT > 2 )); then', '    case $words[2] in');
    for (const sub of subcommands) lines.push(`      (${sub.name}) shift words; (( CURRENT-- )); ${functionName(`${name} ${sub.name}`)}; return ;;`);
    lines.push('    esac', '  fi');
  }
  if (command.positional !== undefined || subcommands.length > 0) {
    const positional = command.positional === undefined ? ' ' : action(command.positional);
    specs.push(`'*:${command.positional?.kind === 'stages' ? 'stage' : 'argument'}:${subcommands.length > 0 ? `{(( CURRENT == 2 )) && compadd ${subcommands.map((sub) => sub.name).join(' ')}; ${positional.replace(/^\{|\}$/g, '')}}` : positional}'`);
  }
  lines.push(`  _arguments -s -S \\\n    ${specs.join(' \\\n    ')}`, '}');
  return lines.join('\n');
}

export function zshScript(commands: readonly CommandSpec[]): string {
  const functions = commands.flatMap((command) => [
    commandFunction(command, command.name),
    ...(command.subcommands ?? []).map((sub) => commandFunction(sub, `${command.name} ${sub.name}`)),
  ]);
  const names = commands.map((command) => command.name);
  return `#compdef ${names.join(' ')}
# zsh completion of vauban and vauban-ci, written by \`vauban completion zsh\`.
# Use it now (compinit loaded):  source <(vauban completion zsh)
# or for good:                   vauban completion zsh > "\${fpath[1]}/_vauban"
# Masters come from config.yml of the working directory; branches and stages
# from ANSIBLE_REPO (environment or .secrets.env) when it is a local folder.

# Adds the masters, branches or stages vauban knows of.
_vauban_ask() {
  local command=\${words[1]%-ci} branch=master i
  local -a found at playbooks
  for (( i = 2; i < CURRENT; i++ )); do
    case $words[i] in
      (-b|--branch) branch=$words[i+1] ;;
      (--branch=*) branch=\${words[i]#--branch=} ;;
      (-b?*) branch=\${words[i]#-b} ;;
    esac
  done
  found=(\${(f)"$(_call_program $1 \${(q)command} completion --candidates $1 --branch \${(q)branch} -- \${(q)PREFIX} 2>/dev/null)"})
  # branch@ goes on with that branch's playbooks: no space after it.
  at=(\${(M)found:#*@}) playbooks=(\${found:#*@})
  compadd -a playbooks
  (( \${#at} )) && compadd -S '' -a at
  return 0
}

${functions.join('\n\n')}

_vauban() {
  case $service in
${commands.map((command) => `    (${command.name}) ${functionName(command.name)} ;;`).join('\n')}
  esac
}

if [[ \${zsh_eval_context[-1]} == loadautofunc ]]; then
  _vauban "$@"
else
  compdef _vauban ${names.join(' ')}
fi
`;
}
