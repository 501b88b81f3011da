# The host's side of a conffs play (issue 11), run by stage.sh in the host's
# container where it would run ansible-playbook: the play itself runs in
# vauban's shared controller (controller.py), and what its `local` connection
# does goes through vauban to this process, which does it here, with the
# environment and working directory ansible-playbook would have had.
#
# argv: the environment file (`env -0`), the arguments file (NUL-terminated),
# the working directory. Protocol, one JSON document a line, byte strings in
# base64: requests on standard input (after the tree stage.sh read before),
# answers on file descriptor 3. First line out: {"op": "hello", "env", "args",
# "cwd"}; last line in: {"op": "end", "rc"}, the play's exit status, which
# becomes this process'. Python 3.5+.
#
# A module's run (`python3 .../AnsiballZ_<name>.py`, Ansible's usual command)
# is forked from this process once it has imported the image's Ansible module
# library (ModuleRunner): the same interpreter, the same code byte for byte
# (checked against the module's own payload each time), without Python's start
# and the payload's compilation (a quarter of a second a module, measured).
import atexit
import base64
import io
import json
import os
import re
import runpy
import selectors
import subprocess
import sys
import traceback
import zipfile


def encode(data):
    return base64.b64encode(data).decode('ascii')


def decode(text):
    return base64.b64decode(text) if text is not None else None


def read_records(path):
    """The NUL-terminated records of a file (an empty argument is one too)."""
    with open(path, 'rb') as stream:
        data = stream.read()
    return data.split(b'\0')[:-1] if data else []


def resolve(path, cwd):
    """The path as the `local` connection resolves it (user, variables, relative to the task's folder), here."""
    path = os.path.expandvars(os.path.expanduser(path))
    return os.path.normpath(os.path.join(cwd or os.getcwdb(), path))


# What Ansible runs for a module without pipelining: its interpreter, then the module's file.
MODULE_COMMAND = re.compile(rb"^/bin/sh -c '(/[^ '\"$`\\]+) (/[^ '\"$`\\]+/AnsiballZ_[A-Za-z0-9_.]+\.py) && sleep 0'$")
ZIPDATA = re.compile(rb'ZIPDATA = """([A-Za-z0-9+/=\s]*)"""')
# The agent's answers to vauban (stage.sh's file descriptor 3).
ANSWERS_FD = 3
# The payload's own package stubs (they extend the package's path to the installed copy): not code of Ansible's.
PAYLOAD_STUBS = ('ansible/__init__.py', 'ansible/module_utils/__init__.py')


class ModuleRunner:
    """Runs modules forked from this process, when that runs exactly what `python3 <module>` would."""

    def __init__(self):
        self.library = None
        try:
            import ansible
            import ansible.module_utils.basic  # noqa: F401  (what every module imports first)
        except Exception:  # noqa: B902 (no usable Ansible for this interpreter: modules run as usual)
            return
        self.library = os.path.dirname(os.path.dirname(os.path.realpath(ansible.__file__)))
        self.python = os.path.realpath(sys.executable)
        # A package installed or removed meanwhile (a play's apt or pip) changes what a new Python would import.
        self.folders = dict((folder, self.stamp(folder)) for folder in sys.path if folder and os.path.isdir(folder))

    @staticmethod
    def stamp(folder):
        try:
            status = os.stat(folder)
            return (status.st_mtime_ns, status.st_ctime_ns, status.st_ino)
        except OSError:
            return None

    def module_of(self, cmd):
        """The module file of `cmd` when it can be run forked from here, else None."""
        if self.library is None:
            return None
        match = MODULE_COMMAND.match(cmd)
        if match is None or os.path.realpath(match.group(1).decode('utf-8', 'surrogateescape')) != self.python:
            return None
        if any(self.stamp(folder) != stamp for folder, stamp in self.folders.items()):
            self.library = None
            return None
        script = match.group(2)
        try:
            with open(script, 'rb') as stream:
                found = ZIPDATA.search(stream.read())
            payload = zipfile.ZipFile(io.BytesIO(base64.b64decode(found.group(1))))
            for name in payload.namelist():
                if not name.startswith('ansible/') or name in PAYLOAD_STUBS or name.endswith('/'):
                    continue
                with open(os.path.join(self.library, name), 'rb') as installed:
                    if installed.read() != payload.read(name):
                        return None
        except Exception:  # noqa: B902 (anything unexpected: the module runs as usual)
            return None
        return script

    def run(self, script, cwd, environment, stdin):
        """`python3 script` with `environment` in `cwd`, forked: (exit status, standard output, standard error)."""
        child_in, to_child = os.pipe()
        from_out, child_out = os.pipe()
        from_err, child_err = os.pipe()
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                os.dup2(child_in, 0)
                os.dup2(child_out, 1)
                os.dup2(child_err, 2)
                # The agent's channel to vauban is no module's. What the imported library holds open
                # stays (closing it under the library broke its own calls: EBADF, measured); Python opens
                # its descriptors close-on-exec, so a command the module runs inherits none of them.
                for fd in (child_in, child_out, child_err, to_child, from_out, from_err, ANSWERS_FD):
                    try:
                        os.close(fd)
                    except OSError:
                        pass
                sys.stdin = io.TextIOWrapper(io.BufferedReader(io.FileIO(0, 'r', closefd=False)))
                sys.stdout = io.TextIOWrapper(io.BufferedWriter(io.FileIO(1, 'w', closefd=False)))
                sys.stderr = io.TextIOWrapper(io.BufferedWriter(io.FileIO(2, 'w', closefd=False)), line_buffering=True, errors='backslashreplace')
                os.environb.clear()
                os.environb.update(environment)
                if cwd:
                    os.chdir(cwd)
                sys.argv = [os.fsdecode(script)]
                runpy.run_path(os.fsdecode(script), run_name='__main__')
                code = 0
            except SystemExit as exit:
                if exit.code is None:
                    code = 0
                elif isinstance(exit.code, int):
                    code = exit.code
                else:
                    sys.stderr.write('%s\n' % (exit.code,))
                    code = 1
            except BaseException:  # noqa: B902 (as Python itself ends on an uncaught exception)
                traceback.print_exc()
                code = 1
            try:
                atexit._run_exitfuncs()
                sys.stdout.flush()
                sys.stderr.flush()
            finally:
                os._exit(code & 0xff)
        for fd in (child_in, child_out, child_err):
            os.close(fd)
        return self.communicate(pid, to_child, from_out, from_err, stdin)

    @staticmethod
    def communicate(pid, to_child, from_out, from_err, stdin):
        output = {from_out: [], from_err: []}
        selector = selectors.DefaultSelector()
        for fd in output:
            selector.register(fd, selectors.EVENT_READ)
        pending = stdin or b''
        if pending:
            selector.register(to_child, selectors.EVENT_WRITE)
        else:
            os.close(to_child)
        while selector.get_map():
            for key, _ in selector.select():
                if key.fd == to_child:
                    try:
                        written = os.write(to_child, pending[:65536])
                    except BrokenPipeError:
                        written = len(pending)
                    pending = pending[written:]
                    if not pending:
                        selector.unregister(to_child)
                        os.close(to_child)
                    continue
                data = os.read(key.fd, 65536)
                if data:
                    output[key.fd].append(data)
                else:
                    selector.unregister(key.fd)
                    os.close(key.fd)
        _, status = os.waitpid(pid, 0)
        # As the shell Ansible's command runs it in reports a module ended by a signal.
        code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status)
        return code, b''.join(output[from_out]), b''.join(output[from_err])


def handle(message, environment, modules):
    op = message['op']
    cwd = decode(message.get('cwd'))
    if op == 'exec' and modules is not None:
        cmd = decode(message['cmd'])
        script = modules.module_of(cmd) if message.get('executable') == '/bin/sh' else None
        if script is not None:
            code, stdout, stderr = modules.run(script, cwd, environment, decode(message.get('stdin')))
            return {'rc': code, 'stdout': encode(stdout), 'stderr': encode(stderr)}
    if op == 'exec':
        executable = message.get('executable')
        process = subprocess.Popen(decode(message['cmd']), shell=True, executable=executable, cwd=cwd, env=environment,
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        stdout, stderr = process.communicate(decode(message.get('stdin')) or b'')
        return {'rc': process.returncode, 'stdout': encode(stdout), 'stderr': encode(stderr)}
    if op == 'put':
        with open(resolve(decode(message['path']), cwd), 'wb') as stream:
            stream.write(decode(message['data']))
        return {}
    if op == 'fetch':
        with open(resolve(decode(message['path']), cwd), 'rb') as stream:
            return {'data': encode(stream.read())}
    raise ValueError('unknown request %r' % op)


def main():
    env_file, args_file, cwd = sys.argv[1:4]
    environment = dict(record.split(b'=', 1) for record in read_records(env_file) if b'=' in record)
    # Never inherited by what the agent runs (stage.sh made it inheritable).
    os.set_inheritable(ANSWERS_FD, False)
    answers = os.fdopen(ANSWERS_FD, 'wb')

    def send(message):
        answers.write(json.dumps(message).encode('ascii') + b'\n')
        answers.flush()

    send({'op': 'hello', 'env': dict((encode(key), encode(value)) for key, value in environment.items()),
          'args': [encode(arg) for arg in read_records(args_file)], 'cwd': encode(os.fsencode(cwd))})
    # While the controller starts the play: its first module comes a few tenths of a second later.
    modules = ModuleRunner()
    for line in sys.stdin.buffer:
        message = json.loads(line.decode('utf-8'))
        if message['op'] == 'end':
            sys.exit(message['rc'])
        try:
            answer = handle(message, environment, modules)
        except Exception as error:  # noqa: B902 (any failure is the task's, reported to Ansible)
            answer = {'error': '%s: %s' % (type(error).__name__, error)}
        answer['req'] = message['req']
        send(answer)
    sys.exit('vauban: the play ended without its exit status')


main()
