# play/agent.py driven over its channel as vauban drives it (requests on its
# standard input, answers on descriptor 3), with a stand-in Ansible on
# PYTHONPATH (tests/stub, without module_utils: modules run as plain commands).
import base64
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
AGENT = os.path.join(os.path.dirname(HERE), 'agent.py')
STUB = os.path.join(HERE, 'stub')


def b64(text):
    return base64.b64encode(text if isinstance(text, bytes) else text.encode()).decode()


class AgentTest(unittest.TestCase):
    def setUp(self):
        self.folder = tempfile.mkdtemp(prefix='vauban-agent-test-')
        self.addCleanup(shutil.rmtree, self.folder, True)
        env_file = os.path.join(self.folder, 'env')
        with open(env_file, 'wb') as stream:
            stream.write(b'PATH=/usr/bin:/bin\0PLAY_VARIABLE=from the play\0')
        args_file = os.path.join(self.folder, 'args')
        with open(args_file, 'wb') as stream:
            stream.write(b'site.yml\0-l\0web01\0\0')
        answers_read, answers_write = os.pipe()
        # Descriptor 3 of the agent: its answers (stage.sh's `exec 3>&1`).
        self.agent = subprocess.Popen(
            ['/bin/sh', '-c', 'exec "$@" 3>&%d %d>&-' % (answers_write, answers_write), 'sh', sys.executable, AGENT, env_file, args_file, self.folder],
            stdin=subprocess.PIPE, stderr=subprocess.PIPE, pass_fds=(answers_write,), env={'PATH': '/usr/bin:/bin', 'PYTHONPATH': STUB})
        os.close(answers_write)
        self.answers = os.fdopen(answers_read, 'rb')
        self.addCleanup(self.answers.close)
        self.addCleanup(self.stop)

    def stop(self):
        if self.agent.poll() is None:
            self.agent.kill()
        self.agent.wait()
        self.agent.stdin.close()
        self.agent.stderr.close()

    def send(self, message):
        self.agent.stdin.write(json.dumps(message).encode() + b'\n')
        self.agent.stdin.flush()

    def receive(self, timeout=20.0):
        ready, _, _ = select.select([self.answers], [], [], timeout)
        self.assertTrue(ready, 'no answer from the agent within %.0f s' % timeout)
        return json.loads(self.answers.readline().decode())

    def test_hello_then_requests_run_here_then_the_plays_status(self):
        hello = self.receive()
        self.assertEqual(hello['op'], 'hello')
        self.assertEqual([base64.b64decode(arg) for arg in hello['args']], [b'site.yml', b'-l', b'web01', b''])
        self.assertEqual(base64.b64decode(hello['cwd']).decode(), self.folder)
        env = dict((base64.b64decode(key), base64.b64decode(value)) for key, value in hello['env'].items())
        self.assertEqual(env[b'PLAY_VARIABLE'], b'from the play')
        # A command, with the play's environment, in the task's folder, its input given.
        self.send({'op': 'exec', 'req': 1, 'cmd': b64('cat; echo " $PLAY_VARIABLE in $PWD"'), 'executable': '/bin/sh', 'cwd': b64(self.folder), 'stdin': b64('input')})
        answer = self.receive()
        self.assertEqual((answer['req'], answer['rc']), (1, 0))
        self.assertEqual(base64.b64decode(answer['stdout']).decode(), 'input from the play in %s\n' % self.folder)
        # What a command run for the play holds: never the agent's channel (descriptor 3).
        self.send({'op': 'exec', 'req': 2, 'cmd': b64('if [ -e /proc/$$/fd/3 ]; then echo held; else echo free; fi'), 'executable': '/bin/sh', 'cwd': None})
        self.assertEqual(base64.b64decode(self.receive()['stdout']), b'free\n')
        # Files put and fetched, relative to the task's folder.
        self.send({'op': 'put', 'req': 3, 'path': b64('put.txt'), 'cwd': b64(self.folder), 'data': b64('content')})
        self.assertEqual(self.receive(), {'req': 3})
        with open(os.path.join(self.folder, 'put.txt')) as stream:
            self.assertEqual(stream.read(), 'content')
        self.send({'op': 'fetch', 'req': 4, 'path': b64(os.path.join(self.folder, 'put.txt')), 'cwd': None})
        self.assertEqual(base64.b64decode(self.receive()['data']), b'content')
        # A failing request is the task's failure, answered: the agent goes on.
        self.send({'op': 'fetch', 'req': 5, 'path': b64('/nonexistent/file'), 'cwd': None})
        failed = self.receive()
        self.assertEqual(failed['req'], 5)
        self.assertIn('FileNotFoundError', failed['error'])
        self.send({'op': 'end', 'rc': 4})
        self.assertEqual(self.agent.wait(10), 4)

    def test_the_end_of_its_input_without_a_status_is_a_failure(self):
        self.receive()
        self.agent.stdin.close()
        deadline = time.time() + 10
        while self.agent.poll() is None and time.time() < deadline:
            time.sleep(0.05)
        self.assertEqual(self.agent.returncode, 1)
        self.assertIn(b'the play ended without its exit status', self.agent.stderr.read())


if __name__ == '__main__':
    unittest.main()
