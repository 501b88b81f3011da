# Prints the candidates zsh's completion offers for a command line, one per line,
# as an interactive zsh would (a pseudo-terminal, compinit, Tab): zsh zsh-complete.zsh <script> <line>
zmodload zsh/zpty
zpty z zsh -f -i
zpty -w z 'PROMPT= ; RPROMPT='
zpty -w z 'autoload -U compinit && compinit -u -D'
zpty -w z "source ${(q)1}"
zpty -w z 'compadd () {
  if [[ ${@[1,(i)(-|--)]} == *-(O|A|D)\ * ]]; then builtin compadd "$@"; return $?; fi
  typeset -a __hits
  builtin compadd -A __hits "$@"
  local ret=$? __hit
  for __hit in $__hits; do print -r -- $'"'"'\1'"'"'"$__hit"$'"'"'\2'"'"' > /dev/tty; done
  builtin compadd "$@"
  return ret
}'
zpty -w z "bindkey '^I' complete-word"
zpty -w z '_zcomp_done() { print -r -- $'"'"'\3'"'"' > /dev/tty; exit }'
zpty -w z 'comppostfuncs=( _zcomp_done )'
zpty -n -w z "$2"$'\t'
local line
while zpty -r z line; do
  [[ $line == *$'\3'* ]] && break
  [[ $line == *$'\1'*$'\2'* ]] && print -r -- "${${line#*$'\1'}%$'\2'*}"
done
zpty -d z
