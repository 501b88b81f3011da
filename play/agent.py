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
import base64
import json
import os
import subprocess
import sys


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


def handle(message, environment):
    op = message['op']
    cwd = decode(message.get('cwd'))
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
    answers = os.fdopen(3, 'wb')

    def send(message):
        answers.write(json.dumps(message).encode('ascii') + b'\n')
        answers.flush()

    send({'op': 'hello', 'env': dict((encode(key), encode(value)) for key, value in environment.items()),
          'args': [encode(arg) for arg in read_records(args_file)], 'cwd': encode(os.fsencode(cwd))})
    for line in sys.stdin.buffer:
        message = json.loads(line.decode('utf-8'))
        if message['op'] == 'end':
            sys.exit(message['rc'])
        try:
            answer = handle(message, environment)
        except Exception as error:  # noqa: B902 (any failure is the task's, reported to Ansible)
            answer = {'error': '%s: %s' % (type(error).__name__, error)}
        answer['req'] = message['req']
        send(answer)
    sys.exit('vauban: the play ended without its exit status')


main()
