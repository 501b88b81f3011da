# vauban's Ansible controller for conffs hosts (issue 11), run by vauban in a
# container of the hosts' source image: that image's own Python and Ansible,
# the stage's branch at /root/ansible, its working directory the one
# ansible-playbook starts in. It imports Ansible once, then forks one child a
# host, and each child runs that host's ansible-playbook exactly as stage.sh
# would (`-l <host> -c local`, the host's own arguments and environment): its
# own play, its own run_once, its own play_hosts. What the `local` connection
# would run on this machine (commands, files put or fetched) goes instead,
# through vauban, to the agent in the host's own container (agent.py): every
# task, a `delegate_to: localhost` included, runs where a stage build runs it.
# Forking from one warm process spares each host Python's and Ansible's start:
# a third of a host's CPU when 16 hosts share two cores (measured).
#
# vauban talks to this process over its standard input and output, one JSON
# document a line; byte strings travel in base64:
#   in:  {"op": "play", "host", "args", "env", "cwd"}: start a host's play
#        {"op": "run", "id", "command", "args"}: run one of Ansible's commands
#            (ansible, ansible-inventory) here, as is, its output captured
#        {"op": "reply", "req", "host", ...}: the host's agent's answer to a request
#            (taken only when request `req` was that host's)
#        {"op": "abort", "host"}: the host's container is gone, end its play
#   out: {"op": "exec"|"put"|"fetch", "req", "host", ...}: for the host's agent
#        {"op": "log", "host", "line"}: a line of the host's play
#        {"op": "done", "host", "rc"}: the host's ansible-playbook exited
#        {"op": "ran", "id", "rc", "stdout", "stderr"}: the command of "run" exited
#        {"op": "ready"} once, when Ansible is loaded
# The end of its input: the plays still running are waited for, then it exits.
# The channel out is the standard output this process was started with; the
# descriptor 1 of the process is its standard error from then on, so what
# Ansible or a plugin prints can never pass for a message.
# Python 3.5+ (Debian 9 onwards): no f-strings.
import base64
import gc
import json
import os
import runpy
import selectors
import shutil
import signal
import socket
import struct
import sys
import tempfile

# The longest line a channel takes (a file put whole in base64 stays under it).
MAX_LINE = int(os.environ.get('VAUBAN_PLAY_MAX_LINE', 256 * 1024 * 1024))


class LineTooLong(Exception):
    pass


def encode(data):
    return base64.b64encode(data).decode('ascii')


def decode(text):
    return base64.b64decode(text) if text is not None else None


def ansible_command_path(name):
    found = shutil.which(name)
    if found is None:
        raise SystemExit('vauban: %s is not installed in the source image' % name)
    return found


def load_ansible():
    """Imports what every play needs, before any fork: each child then starts warm."""
    import ansible.constants  # noqa: F401  (reads ansible.cfg from the working directory, as ansible-playbook does)
    import ansible.plugins.connection.local as local
    for name in ('ansible.cli.playbook', 'ansible.cli.adhoc', 'ansible.cli.inventory', 'ansible.executor.playbook_executor', 'ansible.executor.task_queue_manager',
                 'ansible.executor.task_executor', 'ansible.executor.process.worker', 'ansible.executor.module_common',
                 'ansible.plugins.strategy.linear', 'ansible.plugins.action.normal', 'ansible.plugins.action.template',
                 'ansible.plugins.callback.default', 'ansible.plugins.shell.sh', 'ansible.inventory.manager',
                 'ansible.vars.manager', 'ansible.template', 'ansible.parsing.dataloader', 'jinja2', 'yaml'):
        try:
            __import__(name)
        except Exception:
            pass  # An older or newer Ansible without it: imported later, by the child that needs it.
    share_module_cache_lock()
    try:
        from ansible.plugins.loader import filter_loader, test_loader
        list(filter_loader.all())
        list(test_loader.all())
    except Exception:
        pass
    return local


def share_module_cache_lock():
    """
    The children share this process' local temporary folder, so its cache of
    packed modules: each module is packed once for every host. Ansible writes
    that cache under a lock a module, made by each ansible-playbook for its
    own tasks: the children would each make their own, and two of them pack
    the same module at once (measured: one's rename fails). Every module
    without a lock made here takes the one made here for unexpected modules,
    shared by all the children.
    """
    try:
        from ansible.executor import action_write_locks as locks
    except ImportError:
        return
    shared = locks.action_write_locks[None]

    class SharedLocks(dict):
        def __contains__(self, key):
            return True

        def __getitem__(self, key):
            return dict.get(self, key, shared)

    locks.action_write_locks = SharedLocks(locks.action_write_locks)


def patch_local_connection(local, socket_path):
    """The `local` connection's transfers, sent to the host's agent instead of run here."""
    from ansible import constants as C
    from ansible.errors import AnsibleConnectionFailure, AnsibleError, AnsibleFileNotFound
    from ansible.plugins.connection import ConnectionBase

    def request(connection, message):
        channel = getattr(connection, '_vauban_channel', None)
        if channel is None:
            channel = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            channel.connect(socket_path)
            connection._vauban_channel = channel
            connection._vauban_reader = channel.makefile('rb')
        channel.sendall(json.dumps(message).encode('ascii') + b'\n')
        line = connection._vauban_reader.readline()
        if not line:
            raise AnsibleConnectionFailure('vauban: the channel to the host container closed')
        reply = json.loads(line.decode('utf-8'))
        if 'error' in reply:
            raise AnsibleConnectionFailure('vauban: ' + reply['error'])
        return reply

    def as_bytes(value):
        if value is None:
            return b''
        return value if isinstance(value, bytes) else value.encode('utf-8', 'surrogateescape')

    def exec_command(self, cmd, in_data=None, sudoable=True):
        ConnectionBase.exec_command(self, cmd, in_data=in_data, sudoable=sudoable)
        if not isinstance(cmd, (str, bytes)):
            cmd = b' '.join(as_bytes(part) for part in cmd)
        executable = C.DEFAULT_EXECUTABLE.split()[0] if C.DEFAULT_EXECUTABLE else None
        reply = request(self, {
            'op': 'exec', 'cmd': encode(as_bytes(cmd)), 'executable': executable,
            'cwd': encode(as_bytes(self.cwd)) if self.cwd else None,
            'stdin': encode(as_bytes(in_data)) if in_data is not None else None,
        })
        return reply['rc'], decode(reply['stdout']), decode(reply['stderr'])

    def put_file(self, in_path, out_path):
        ConnectionBase.put_file(self, in_path, out_path)
        source = os.path.join(as_bytes(self.cwd) or b'.', os.path.expanduser(as_bytes(in_path)))
        if not os.path.exists(source):
            raise AnsibleFileNotFound('file or module does not exist: %s' % in_path)
        with open(source, 'rb') as stream:
            data = stream.read()
        request(self, {'op': 'put', 'path': encode(as_bytes(out_path)), 'cwd': encode(as_bytes(self.cwd)) if self.cwd else None, 'data': encode(data)})

    def fetch_file(self, in_path, out_path):
        ConnectionBase.fetch_file(self, in_path, out_path)
        reply = request(self, {'op': 'fetch', 'path': encode(as_bytes(in_path)), 'cwd': encode(as_bytes(self.cwd)) if self.cwd else None})
        try:
            with open(as_bytes(out_path), 'wb') as stream:
                stream.write(decode(reply['data']))
        except IOError as error:
            raise AnsibleError('failed to transfer file to %s: %s' % (out_path, error))

    def close(self):
        channel = getattr(self, '_vauban_channel', None)
        if channel is not None:
            channel.close()
            self._vauban_channel = None
        self._connected = False

    local.Connection.exec_command = exec_command
    local.Connection.put_file = put_file
    local.Connection.fetch_file = fetch_file
    local.Connection.close = close
    local.Connection._vauban = True


def ansible_settings(environment):
    return dict((key, value) for key, value in environment.items() if key.startswith(b'ANSIBLE_'))


def run_play(script, play, loaded_with):
    """In the child: the host's ansible-playbook, in this process, as it would run in the host's container."""
    from ansible.plugins.loader import connection_loader
    environment = dict((decode(key), decode(value)) for key, value in play['env'].items())
    # Ansible read its settings from the environment when it was loaded: vauban gives each set of
    # ANSIBLE_* settings its own controller, so a play with other settings is never run here.
    if ansible_settings(environment) != loaded_with:
        changed = sorted(set(ansible_settings(environment).items()) ^ set(loaded_with.items()))
        sys.stderr.write('vauban: this controller loaded Ansible with other settings than the play has (%s)\n'
                         % ', '.join(sorted(set(key.decode('utf-8', 'replace') for key, _ in changed))))
        os._exit(70)
    os.environ.clear()
    for key, value in environment.items():
        os.environb[key] = value
    os.environ['VAUBAN_PLAY_HOST'] = play['host']
    os.chdir(decode(play['cwd']))
    # Whatever name the play gives it (local, ansible.builtin.local, a delegation to localhost), the
    # `local` connection must be the patched one: a task must never run in this container.
    for name in ('local', 'ansible.builtin.local'):
        found = connection_loader.get(name, class_only=True)
        if not getattr(found, '_vauban', False):
            sys.stderr.write('vauban: the %s connection of this Ansible cannot be redirected to the host container\n' % name)
            os._exit(70)
    exit_running(script, [decode(arg).decode('utf-8', 'surrogateescape') for arg in play['args']])


def exit_running(script, args):
    """In a child: Ansible's command `script` with `args`, as its own process would run it; then the child ends."""
    sys.argv = [script] + args
    try:
        runpy.run_path(script, run_name='__main__')
        code = 0
    except SystemExit as exit:
        code = exit.code if isinstance(exit.code, int) else (0 if exit.code is None else 1)
    except BaseException as error:  # noqa: B902 (the child reports everything, then ends)
        sys.stderr.write('vauban: %s failed: %r\n' % (os.path.basename(script), error))
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def run_command(script, args, stdout_path, stderr_path):
    """In the child: one of Ansible's commands (the host resolution's), its output into files."""
    for fd, target in ((1, stdout_path), (2, stderr_path)):
        opened = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(opened, fd)
        os.close(opened)
    sys.stdout = os.fdopen(1, 'w')
    sys.stderr = os.fdopen(2, 'w')
    exit_running(script, args)


# The modules Ansible's own actions run (template, copy and fetch: stat, file, copy, slurp; facts: setup;
# command and shell: command): packed for every play of the controller (Ansible's cache of packed
# modules, which its children share), by a child while the first hosts' containers start.
ACTIONS_MODULES = ('stat', 'file', 'copy', 'slurp', 'setup', 'command')


def pack_actions_modules():
    """In a child: packs ACTIONS_MODULES as a play would (the cache's content is the module's code and its module_utils only)."""
    try:
        from ansible import constants as C
        from ansible.executor.module_common import modify_module
        from ansible.parsing.dataloader import DataLoader
        from ansible.plugins.loader import module_loader
        from ansible.template import Templar
        templar = Templar(loader=DataLoader())
        for name in ACTIONS_MODULES:
            found = module_loader.find_plugin_with_context(name)
            if not found.resolved:
                continue
            try:
                # The interpreter only names the packed module's first line, which the cache does not keep.
                modify_module(name, found.plugin_resolved_path, {}, templar, task_vars={'ansible_python_interpreter': '/usr/bin/python3'},
                              module_compression=C.DEFAULT_MODULE_COMPRESSION)
            except Exception:  # noqa: B902 (a play packs it then, and reports what fails)
                pass
    finally:
        os._exit(0)


class Controller:
    def __init__(self, script, socket_path, loaded_with, output):
        self.loaded_with = loaded_with
        self.script = script
        self.selector = selectors.DefaultSelector()
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(socket_path)
        self.server.listen(64)
        self.selector.register(self.server, selectors.EVENT_READ, ('accept', None))
        self.input = sys.stdin.buffer
        self.selector.register(self.input, selectors.EVENT_READ, ('input', None))
        self.output = output
        self.children = {}  # pid -> host
        self.commands = {}  # pid -> (id, stdout file, stderr file) of a "run"
        self.helpers = set()  # pids of children of the controller's own (pack_actions_modules)
        self.folder = os.path.dirname(socket_path)
        self.exited = {}  # host -> exit status, until its output is read to the end
        self.logs_open = set()  # hosts whose output is still being read
        self.pending = {}  # request number -> (connection (socket), host)
        self.next_request = 0
        self.input_open = True
        self.buffers = {}  # connection or pipe -> bytes not yet a line

    def send(self, message):
        self.output.write(json.dumps(message).encode('ascii') + b'\n')
        self.output.flush()

    def close_in_child(self):
        """In a forked child: none of the controller's channels stays open in it (vauban's, the other plays' logs and
        connections): a play reaches its own host's agent only, through connections of its own."""
        for key in list(self.selector.get_map().values()):
            if key.fileobj is not self.input:
                try:
                    key.fileobj.close()
                except OSError:
                    pass
        self.selector.close()
        self.output.close()

    def start_play(self, play):
        log_read, log_write = os.pipe()
        pid = os.fork()
        if pid == 0:
            # A process group of its own: an abandoned play is ended with its workers.
            os.setpgid(0, 0)
            self.close_in_child()
            os.close(log_read)
            os.dup2(log_write, 1)
            os.dup2(log_write, 2)
            os.close(log_write)
            devnull = os.open(os.devnull, os.O_RDONLY)
            os.dup2(devnull, 0)
            os.close(devnull)
            sys.stdin = open(0, 'r')
            sys.stdout = os.fdopen(1, 'w', buffering=1)
            sys.stderr = os.fdopen(2, 'w', buffering=1)
            run_play(self.script, play, self.loaded_with)
        os.close(log_write)
        self.children[pid] = play['host']
        self.logs_open.add(play['host'])
        reader = os.fdopen(log_read, 'rb', buffering=0)
        self.selector.register(reader, selectors.EVENT_READ, ('log', play['host']))

    def pack_actions_modules(self):
        pid = os.fork()
        if pid == 0:
            os.setpgid(0, 0)
            self.close_in_child()
            devnull = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(devnull, fd)
            pack_actions_modules()
        self.helpers.add(pid)

    def start_command(self, message):
        # Only Ansible's own commands: a name, never a path.
        if message['command'] not in ('ansible', 'ansible-inventory'):
            self.send({'op': 'ran', 'id': message['id'], 'rc': 127, 'stdout': '', 'stderr': encode(b'vauban: not a command the controller runs')})
            return
        script = ansible_command_path(message['command'])
        stdout_path = os.path.join(self.folder, 'run-%d.out' % message['id'])
        stderr_path = os.path.join(self.folder, 'run-%d.err' % message['id'])
        pid = os.fork()
        if pid == 0:
            os.setpgid(0, 0)
            self.close_in_child()
            devnull = os.open(os.devnull, os.O_RDONLY)
            os.dup2(devnull, 0)
            os.close(devnull)
            run_command(script, message['args'], stdout_path, stderr_path)
        self.commands[pid] = (message['id'], stdout_path, stderr_path)

    def command_ended(self, pid, code):
        command_id, stdout_path, stderr_path = self.commands.pop(pid)
        output = []
        for name in (stdout_path, stderr_path):
            try:
                with open(name, 'rb') as stream:
                    output.append(stream.read())
                os.unlink(name)
            except OSError:
                output.append(b'')
        self.send({'op': 'ran', 'id': command_id, 'rc': code, 'stdout': encode(output[0]), 'stderr': encode(output[1])})

    def lines(self, key, data):
        """Whole lines of what `key` sent so far; LineTooLong past MAX_LINE bytes without an end."""
        pending = self.buffers.get(key, b'') + data
        *complete, rest = pending.split(b'\n')
        if len(rest) > MAX_LINE:
            self.buffers.pop(key, None)
            raise LineTooLong(rest[:60])
        self.buffers[key] = rest
        return complete

    def on_input(self):
        data = os.read(self.input.fileno(), 1 << 20)
        if not data:
            self.selector.unregister(self.input)
            self.input_open = False
            return
        for line in self.lines('input', data):
            try:
                message = json.loads(line.decode('utf-8'))
            except ValueError:
                raise SystemExit('vauban: not a message of vauban on the controller\'s input: %r' % line[:60])
            if message['op'] == 'play':
                self.start_play(message)
            elif message['op'] == 'run':
                self.start_command(message)
            elif message['op'] == 'abort':
                # The host's container is gone: its play can only wait for answers that never come.
                for pid, host in self.children.items():
                    if host == message['host']:
                        try:
                            os.killpg(pid, signal.SIGKILL)
                        except OSError:
                            pass
            elif message['op'] == 'reply':
                connection, host = self.pending.get(message['req'], (None, None))
                if connection is None:
                    continue
                if message.get('host') != host:
                    # An agent answers its own host's requests only: never another host's play.
                    sys.stderr.write('vauban: an answer from %r to a request of %r refused\n' % (message.get('host'), host))
                    continue
                del self.pending[message['req']]
                reply = dict(message)
                del reply['op'], reply['req'], reply['host']
                try:
                    connection.sendall(json.dumps(reply).encode('ascii') + b'\n')
                except OSError:
                    pass  # The worker went away meanwhile.

    def on_accept(self):
        connection, _ = self.server.accept()
        self.selector.register(connection, selectors.EVENT_READ, ('request', connection))

    def on_request(self, connection):
        data = connection.recv(1 << 20)
        if not data:
            self.selector.unregister(connection)
            self.buffers.pop(connection, None)
            connection.close()
            return
        try:
            lines = self.lines(connection, data)
            messages = [json.loads(line.decode('utf-8')) for line in lines]
            if not all(isinstance(message, dict) for message in messages):
                raise ValueError('not a message')
            # Which host: the credentials of the worker process say whose child it is.
            host = self.host_of(connection)
        except (LineTooLong, ValueError, RuntimeError, OSError) as error:
            # Not what the patched connection sends: this worker's channel is closed (its task fails, its host with it).
            sys.stderr.write('vauban: a play\'s connection closed: %r\n' % (error,))
            self.selector.unregister(connection)
            self.buffers.pop(connection, None)
            connection.close()
            return
        for message in messages:
            message['host'] = host
            self.next_request += 1
            message['req'] = self.next_request
            self.pending[self.next_request] = (connection, host)
            self.send(message)

    def host_of(self, connection):
        credentials = connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize('3i'))
        pid = struct.unpack('3i', credentials)[0]
        # The worker is a child (or later descendant) of a host's ansible-playbook: walk up to it.
        while pid > 1:
            if pid in self.children:
                return self.children[pid]
            with open('/proc/%d/stat' % pid) as stream:
                stat = stream.read()
            pid = int(stat[stat.rindex(')') + 2:].split()[1])
        raise RuntimeError('a connection from a process that is no host play')

    def on_log(self, reader, host):
        data = reader.read(1 << 16)
        if not data:
            self.selector.unregister(reader)
            rest = self.buffers.pop(reader, b'')
            if rest:
                self.send({'op': 'log', 'host': host, 'line': rest.decode('utf-8', 'replace')})
            reader.close()
            self.logs_open.discard(host)
            self.finish(host)
            return
        try:
            lines = self.lines(reader, data)
        except LineTooLong as too_long:
            # A play's output is text for its log: an endless line is cut, not refused.
            lines = [too_long.args[0] + b'... (a line of more than %d MiB, cut)' % (MAX_LINE >> 20)]
        for line in lines:
            self.send({'op': 'log', 'host': host, 'line': line.decode('utf-8', 'replace')})

    def reap(self):
        while self.children or self.commands or self.helpers:
            pid, status = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                return
            code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status)
            if pid in self.helpers:
                self.helpers.discard(pid)
                continue
            if pid in self.commands:
                self.command_ended(pid, code)
                continue
            host = self.children.pop(pid, None)
            if host is not None:
                self.exited[host] = code
                self.finish(host)

    def finish(self, host):
        """Done once the play has exited and its last line is sent: vauban then reads the host's changes."""
        if host in self.exited and host not in self.logs_open:
            self.send({'op': 'done', 'host': host, 'rc': self.exited.pop(host)})

    def serve(self):
        while self.input_open or self.children or self.exited or self.commands:
            for key, _ in self.selector.select(timeout=0.05):
                kind, detail = key.data
                if kind == 'input':
                    self.on_input()
                elif kind == 'accept':
                    self.on_accept()
                elif kind == 'request':
                    self.on_request(detail)
                elif kind == 'log':
                    self.on_log(key.fileobj, detail)
            self.reap()


def main():
    # vauban's channel: the standard output as given; descriptor 1 becomes the standard error (module docstring).
    output = os.fdopen(os.dup(1), 'wb')
    sys.stdout.flush()
    os.dup2(2, 1)
    script = ansible_command_path('ansible-playbook')
    loaded_with = ansible_settings(dict(os.environb))
    local = load_ansible()
    folder = tempfile.mkdtemp(prefix='vauban-play-')
    socket_path = os.path.join(folder, 'channel')
    patch_local_connection(local, socket_path)
    controller = Controller(script, socket_path, loaded_with, output)
    # What was loaded stays shared with the children: not copied by the garbage collector's touch.
    gc.collect()
    if hasattr(gc, 'freeze'):
        gc.freeze()
    controller.send({'op': 'ready'})
    controller.pack_actions_modules()
    controller.serve()


main()
