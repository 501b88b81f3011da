# play/controller.py driven over its channel as vauban drives it, with a
# stand-in Ansible on PYTHONPATH (tests/stub): no Docker, no real Ansible.
# Run by the README's test command: python3 -m unittest discover -s play/tests
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
CONTROLLER = os.path.join(os.path.dirname(HERE), 'controller.py')
STUB = os.path.join(HERE, 'stub')


def b64(text):
    return base64.b64encode(text if isinstance(text, bytes) else text.encode()).decode()


class Controller(object):
    """A controller process and its channel: JSON lines in, JSON lines out."""

    def __init__(self, extra_env=None):
        self.folder = tempfile.mkdtemp(prefix='vauban-play-test-')
        env = {'PATH': os.path.join(STUB, 'bin') + ':/usr/bin:/bin', 'PYTHONPATH': STUB, 'TMPDIR': self.folder, 'PYTHONUNBUFFERED': '1'}
        env.update(extra_env or {})
        self.stderr_path = os.path.join(self.folder, 'stderr')
        self.stderr_file = open(self.stderr_path, 'wb')
        self.process = subprocess.Popen([sys.executable, CONTROLLER], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=self.stderr_file, cwd=self.folder, env=env)
        self.buffer = b''
        self.lines = []  # every line the controller sent, as received

    def send(self, message):
        self.process.stdin.write(json.dumps(message).encode() + b'\n')
        self.process.stdin.flush()

    def receive(self, timeout=20.0):
        """The next message; every line on the channel must be one."""
        deadline = time.time() + timeout
        while b'\n' not in self.buffer:
            left = deadline - time.time()
            if left <= 0:
                raise AssertionError('no message from the controller within %.0f s; stderr: %s' % (timeout, self.stderr()))
            ready, _, _ = select.select([self.process.stdout], [], [], left)
            if ready:
                data = os.read(self.process.stdout.fileno(), 1 << 16)
                if not data:
                    raise AssertionError('the controller closed its channel; stderr: %s' % self.stderr())
                self.buffer += data
        line, self.buffer = self.buffer.split(b'\n', 1)
        self.lines.append(line)
        return json.loads(line.decode())  # a line that is not JSON fails the test here

    def until(self, predicate, timeout=20.0):
        """Messages up to the first that `predicate` accepts (returned last)."""
        seen = []
        while True:
            message = self.receive(timeout)
            seen.append(message)
            if predicate(message):
                return seen

    def quiet_for(self, seconds):
        """True when the controller sends nothing for `seconds`."""
        ready, _, _ = select.select([self.process.stdout], [], [], seconds)
        return not ready and b'\n' not in self.buffer

    def play(self, host, scenario, extra=None):
        env = {'STUB_SCENARIO': scenario, 'TMPDIR': self.folder, 'PATH': '/usr/bin:/bin'}
        env.update(extra or {})
        self.send({'op': 'play', 'host': host, 'args': [b64('site.yml'), b64('-l'), b64(host)],
                   'env': dict((b64(key), b64(value)) for key, value in env.items()), 'cwd': b64(self.folder)})

    def stderr(self):
        self.stderr_file.flush()
        with open(self.stderr_path, 'rb') as stream:
            return stream.read().decode('utf-8', 'replace')

    def close(self):
        if self.stderr_file.closed:
            return
        try:
            self.process.stdin.close()
        except OSError:
            pass
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process.stdout.close()
        self.stderr_file.close()
        shutil.rmtree(self.folder, ignore_errors=True)


class ControllerTest(unittest.TestCase):
    def setUp(self):
        self.controller = Controller()
        # Whichever controller the test ends with (some start their own).
        self.addCleanup(lambda: self.controller.close())
        self.assertEqual(self.controller.receive(), {'op': 'ready'})

    def logs(self, messages, host):
        return [message['line'] for message in messages if message.get('op') == 'log' and message.get('host') == host]

    def test_what_ansible_prints_at_import_stays_off_the_channel(self):
        self.controller.close()
        self.controller = Controller({'STUB_NOISE': '1'})
        self.assertEqual(self.controller.receive(), {'op': 'ready'})
        self.controller.play('web01', 'fds')
        self.controller.until(lambda message: message.get('op') == 'done')
        for line in self.controller.lines:
            json.loads(line.decode())
        self.assertIn('noise printed at import', self.controller.stderr())

    def test_a_play_runs_its_commands_through_its_host_and_ends_with_its_status(self):
        self.controller.play('web01', 'exec')
        request = self.controller.until(lambda message: message.get('op') == 'exec')[-1]
        self.assertEqual(request['host'], 'web01')
        self.assertEqual(base64.b64decode(request['cmd']), b'echo hi from web01')
        self.controller.send({'op': 'reply', 'req': request['req'], 'host': 'web01', 'rc': 0, 'stdout': b64('hi from web01\n'), 'stderr': ''})
        seen = self.controller.until(lambda message: message.get('op') == 'done')
        self.assertIn('rc=0 out=hi from web01', self.logs(seen, 'web01'))
        self.assertEqual(seen[-1], {'op': 'done', 'host': 'web01', 'rc': 0})

    def test_files_put_and_fetched_go_to_the_host(self):
        self.controller.play('web01', 'transfer')
        put = self.controller.until(lambda message: message.get('op') == 'put')[-1]
        self.assertEqual((base64.b64decode(put['path']), base64.b64decode(put['data'])), (b'/remote/path', b'put by web01'))
        self.controller.send({'op': 'reply', 'req': put['req'], 'host': 'web01'})
        fetch = self.controller.until(lambda message: message.get('op') == 'fetch')[-1]
        self.controller.send({'op': 'reply', 'req': fetch['req'], 'host': 'web01', 'data': b64('from the host')})
        seen = self.controller.until(lambda message: message.get('op') == 'done')
        self.assertIn('fetched=from the host', self.logs(seen, 'web01'))

    def test_an_answer_from_another_host_is_refused(self):
        self.controller.play('web01', 'exec')
        request = self.controller.until(lambda message: message.get('op') == 'exec')[-1]
        forged = {'op': 'reply', 'req': request['req'], 'host': 'web02', 'rc': 0, 'stdout': b64('forged\n'), 'stderr': ''}
        self.controller.send(forged)
        self.assertTrue(self.controller.quiet_for(1.0), 'the play went on with an answer of another host')
        self.assertIn("an answer from 'web02' to a request of 'web01' refused", self.controller.stderr())
        self.controller.send(dict(forged, host='web01', stdout=b64('true\n')))
        seen = self.controller.until(lambda message: message.get('op') == 'done')
        self.assertIn('rc=0 out=true', self.logs(seen, 'web01'))

    def test_two_hosts_each_get_their_own_requests(self):
        self.controller.play('web01', 'exec')
        self.controller.play('web02', 'exec')
        requests = {}
        while len(requests) < 2:
            message = self.controller.receive()
            if message.get('op') == 'exec':
                requests[message['host']] = message
        for host, request in requests.items():
            self.assertEqual(base64.b64decode(request['cmd']), ('echo hi from %s' % host).encode())
            self.controller.send({'op': 'reply', 'req': request['req'], 'host': host, 'rc': 0, 'stdout': b64(host), 'stderr': ''})
        done = {}
        while len(done) < 2:
            message = self.controller.receive()
            if message.get('op') == 'done':
                done[message['host']] = message['rc']
        self.assertEqual(done, {'web01': 0, 'web02': 0})

    def test_a_connection_that_sends_what_is_not_a_message_is_closed_and_its_play_fails(self):
        self.controller.play('web01', 'garbage')
        seen = self.controller.until(lambda message: message.get('op') == 'done')
        self.assertIn('closed', self.logs(seen, 'web01'))
        self.assertEqual(seen[-1]['rc'], 3)
        self.assertIn("a play's connection closed", self.controller.stderr())

    def test_a_play_holds_none_of_the_controllers_channels(self):
        # Another play's connection is open meanwhile: the second play must not hold it.
        self.controller.play('web01', 'exec')
        self.controller.until(lambda message: message.get('op') == 'exec')
        self.controller.play('web02', 'fds')
        seen = self.controller.until(lambda message: message.get('op') == 'done' and message.get('host') == 'web02')
        self.assertIn('held=', self.logs(seen, 'web02'))

    def test_an_endless_line_of_a_play_is_cut_not_fatal(self):
        self.controller.close()
        self.controller = Controller({'VAUBAN_PLAY_MAX_LINE': '100000'})
        self.assertEqual(self.controller.receive(), {'op': 'ready'})
        self.controller.play('web01', 'long-line', {'STUB_LENGTH': '300000'})
        seen = self.controller.until(lambda message: message.get('op') == 'done')
        lines = self.logs(seen, 'web01')
        self.assertTrue(any(line.endswith('(a line of more than 0 MiB, cut)') for line in lines), lines[:3])
        self.assertIn('after the long line', lines)
        self.assertEqual(seen[-1]['rc'], 0)

    def test_a_command_other_than_ansibles_is_refused(self):
        self.controller.send({'op': 'run', 'id': 7, 'command': '/bin/sh', 'args': ['-c', 'id']})
        ran = self.controller.until(lambda message: message.get('op') == 'ran')[-1]
        self.assertEqual((ran['id'], ran['rc']), (7, 127))


if __name__ == '__main__':
    unittest.main()
