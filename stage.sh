#!/bin/bash
# One stage: one playbook applied as VAUBAN_HOSTNAME (SPEC A4, A5), run by
# vauban inside a container of the stage's source image, where systemd runs as
# PID 1 (unless the image has none): services really start, restart and
# reload, handlers really run. vauban runs this script with `bash -c` and its
# parameters as the environment of this one process, so none of them is
# stored in the image, its history or its configuration.
#
# In: on standard input, a tar of ansible/, the stage's branch (extracted over
# what an earlier stage left in /root/ansible); VAUBAN_HOSTNAME, PLAYBOOK, SOURCE, BRANCH, ANSIBLE_ROOT_DIR,
# ANSIBLE_EXTRA_ARGS, HOOK_PRE_ANSIBLE, HOOK_POST_ANSIBLE; VAUBAN_INIT
# (systemd|none), VAUBAN_FAILED_BEFORE (units already failed at boot) and
# VAUBAN_CHECK_REQUIREMENTS (1: check requirements.yml against what is vendored);
# VAUBAN_TREE_BYTES, the size of that tar; VAUBAN_PLAY: `local`, ansible-playbook
# runs here; `agent` (conffs hosts, issue 11), it runs in vauban's shared
# controller and the agent (VAUBAN_AGENT, play/agent.py) does here what its
# `local` connection asks, its protocol on standard input (after the tar) and
# on file descriptor 3; this script's own output then goes to standard error.
set -eu
if [ "${VAUBAN_PLAY:-local}" = agent ]; then exec 3>&1 1>&2; fi
export DEBIAN_FRONTEND=noninteractive
quote() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/''/g")"; }

# The tree of the stage's branch: drop what an earlier stage's branch left.
# Exactly its size: what follows on standard input is the agent's. (Under
# Dockerfile.stages, by hand, the tree is already there.)
if [ -n "${VAUBAN_TREE_BYTES:-}" ]; then
  head -c "$VAUBAN_TREE_BYTES" > /tmp/vauban-tree.tar
  tar --extract --file=/tmp/vauban-tree.tar --directory=/root
  rm -f /tmp/vauban-tree.tar
fi
git -C /root/ansible clean -ffdxq
cd "/root/ansible/${ANSIBLE_ROOT_DIR:-}"

# The versions, from dpkg (milliseconds) or else from Python (an Ansible not installed by Debian).
ansible_core=$(dpkg-query -W -f '${Version}' ansible-core 2>/dev/null | sed 's/[-+].*//' || true)
[ -n "$ansible_core" ] || ansible_core=$(python3 -c 'from ansible.release import __version__; print(__version__)' 2>/dev/null || true)
ansible_distribution=$(dpkg-query -W -f '${Version}' ansible 2>/dev/null || true)
echo "vauban: ansible-core ${ansible_core:-unknown}, Ansible distribution ${ansible_distribution:-not installed}, init: ${VAUBAN_INIT}"
{ echo; \
  echo "    - date: $(quote "$(date -Iseconds)")"; \
  echo "      playbook: $(quote "$PLAYBOOK")"; \
  echo "      hostname: $(quote "$VAUBAN_HOSTNAME")"; \
  echo "      source: $(quote "$SOURCE")"; \
  echo "      git-sha1: $(quote "$(git rev-parse HEAD)")"; \
  echo "      git-branch: $(quote "$BRANCH")"; \
  echo "      ansible: $(quote "${ansible_distribution:-none}")"; \
  echo "      ansible-core: $(quote "${ansible_core:-unknown}")"; \
  echo "      init: $(quote "$VAUBAN_INIT")"; } >> /imginfo

# The package state before the play: two small files copied, not listed; apt
# (0.7 s a listing) runs only when the play installed, removed or marked
# packages, which a conffs host seldom does.
cp /var/lib/dpkg/status /tmp/vauban-dpkg-status-before
cp /var/lib/apt/extended_states /tmp/vauban-apt-states-before 2>/dev/null || : > /tmp/vauban-apt-states-before
if [ -d inventory ]; then inventory=inventory/zz-vauban-build; else inventory=inventory; fi
printf '\n[all]\n%s\n' "$VAUBAN_HOSTNAME" >> "$inventory"

# Builds never reach Galaxy: what a requirements file asks for must be vendored
# in the repository (or come with the image's Ansible distribution). Checked
# once per branch and run (VAUBAN_CHECK_REQUIREMENTS), not once per host.
for requirements in requirements.yml collections/requirements.yml roles/requirements.yml; do
  [ "${VAUBAN_CHECK_REQUIREMENTS:-1}" = 1 ] && [ -f "$requirements" ] || continue
  python3 - "$requirements" <<'PY'
import ast, json, os, subprocess, sys, yaml
path = sys.argv[1]
with open(path) as stream:
    wanted = yaml.safe_load(stream) or {}
if isinstance(wanted, list):
    wanted = {'roles': wanted}
# Galaxy's cache goes to the scratch /tmp, never into the image.
quiet = dict(os.environ, ANSIBLE_GALAXY_CACHE_DIR='/tmp/vauban-galaxy-cache')
def name_of(entry):
    return entry if isinstance(entry, str) else (entry.get('name') or entry.get('src') or '')
listing = subprocess.run(["ansible-galaxy", "collection", "list", "--format", "json"], capture_output=True, text=True, env=quiet).stdout
installed = set()
for collections in (json.loads(listing) if listing.strip() else {}).values():
    installed.update(collections)
roles_paths = ['roles']
for line in subprocess.run(["ansible-config", "dump"], capture_output=True, text=True, env=quiet).stdout.splitlines():
    if line.startswith('DEFAULT_ROLES_PATH'):
        roles_paths += ast.literal_eval(line.split(' = ', 1)[1])
missing = []
for entry in wanted.get('collections') or []:
    name = name_of(entry)
    if name and name not in installed:
        missing.append(f'collection {name} (vendor it under collections/ansible_collections/{name.replace(".", "/")})')
for entry in wanted.get('roles') or []:
    name = name_of(entry).rstrip('/').split('/')[-1].removesuffix('.git')
    if name and not any(os.path.isdir(os.path.join(folder, name)) for folder in roles_paths):
        missing.append(f'role {name} (vendor it under roles/{name})')
if missing:
    print(f'vauban: {path} asks for what is neither in the repository nor in the image, and builds have no network to Ansible Galaxy:')
    for one in missing:
        print(f'vauban:   - {one}')
    sys.exit(1)
print(f'vauban: {path}: every requirement is vendored or installed')
PY
done

hook_pre_ansible() { eval "$HOOK_PRE_ANSIBLE"; }
hook_pre_ansible
eval "set -- $ANSIBLE_EXTRA_ARGS"
# in_vauban: roles written for vauban v2 test it; ours need not.
if [ "${VAUBAN_PLAY:-local}" = agent ]; then
  # The play's environment and arguments, as ansible-playbook would have them here.
  env -u VAUBAN_AGENT -0 > /tmp/vauban-play-env
  printf '%s\0' "$PLAYBOOK" --diff -l "$VAUBAN_HOSTNAME" -c local -v -e '{"in_vauban": true}' "$@" > /tmp/vauban-play-args
  python3 -c "$VAUBAN_AGENT" /tmp/vauban-play-env /tmp/vauban-play-args "$PWD"
  rm -f /tmp/vauban-play-env /tmp/vauban-play-args
else
  ansible-playbook "$PLAYBOOK" --diff -l "$VAUBAN_HOSTNAME" -c local -v -e '{"in_vauban": true}' "$@"
fi
hook_post_ansible() { eval "$HOOK_POST_ANSIBLE"; }
hook_post_ansible

# What could not really happen during the build: units that failed here
# (beyond those that already fail in any container), or every service
# operation when the image has no systemd to run them.
failed=""
if [ "$VAUBAN_INIT" = systemd ]; then
  for unit in $(systemctl list-units --state=failed --plain --no-legend 2>/dev/null | awk '{print $1}'); do
    case " $VAUBAN_FAILED_BEFORE " in *" $unit "*) ;; *) failed="$failed $unit" ;; esac
  done
fi
{ echo "      units-failed:"; \
  if [ "$VAUBAN_INIT" != systemd ]; then echo "        - $(quote 'no systemd in the image: services could not run during the build')"; fi; \
  for unit in $failed; do echo "        - $(quote "$unit")"; done; \
  if [ -z "$failed" ] && [ "$VAUBAN_INIT" = systemd ]; then echo "        []"; fi; } >> /imginfo
if [ -n "$failed" ]; then
  echo "vauban: WARNING: units that failed during this stage (not running in the image's build):$failed"
  for unit in $failed; do systemctl status --no-pager --lines=5 "$unit" 2>&1 | sed 's/^/vauban:   /' || true; done
fi

: > /tmp/vauban-apt-before
: > /tmp/vauban-apt-after
if ! cmp -s /var/lib/dpkg/status /tmp/vauban-dpkg-status-before || ! { cat /var/lib/apt/extended_states 2>/dev/null | cmp -s /tmp/vauban-apt-states-before -; }; then
  apt list --installed -o Dir::State::status=/tmp/vauban-dpkg-status-before -o Dir::State::extended_states=/tmp/vauban-apt-states-before 2>/dev/null | sed 's/stable,stable/stable/' > /tmp/vauban-apt-before
  apt list --installed 2>/dev/null | sed 's/stable,stable/stable/' > /tmp/vauban-apt-after
fi
{ echo; \
  echo "    - playbook: $(quote "$PLAYBOOK")"; \
  echo "      hostname: $(quote "$VAUBAN_HOSTNAME")"; \
  echo "      packages: |"; \
  diff /tmp/vauban-apt-before /tmp/vauban-apt-after | sed -n -e 's/^< /          - /p' -e 's/^> /          + /p'; } >> /packages
rm -f /tmp/vauban-apt-before /tmp/vauban-apt-after /tmp/vauban-dpkg-status-before /tmp/vauban-apt-states-before
