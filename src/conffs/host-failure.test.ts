import { describe, expect, it } from 'vitest';
import { summarizeHostLog } from './host-failure.js';

const LOG = `conffs of db01: build (no earlier build recorded)
stage 1/1: pb_fail_db.yml from branch master (5f2f38a59f) on debian-12.15/iso as db01

PLAY [all] *********************************************************************

TASK [Write a marker] **********************************************************
changed: [db01] => {"changed": true, "dest": "/etc/vauban-fail-marker"}

TASK [Refuse db hosts] *********************************************************
fatal: [db01]: FAILED! => {"changed": false, "msg": "fixture failure for db01"}

PLAY RECAP *********************************************************************
db01                       : ok=1    changed=1    unreachable=0    failed=1    skipped=0    rescued=0    ignored=0

FAILED: stage pb_fail_db.yml exited with status 2 (see the log above for the failed task)
`;

describe('what a failed host shows under its [KO] line (issue 31)', () => {
  it('the failed task, the module\'s message, the last lines of the log', () => {
    const failure = summarizeHostLog(LOG, 3);
    expect(failure.task).toBe('Refuse db hosts');
    expect(failure.message).toBe('fixture failure for db01');
    expect(failure.tail).toEqual([
      'PLAY RECAP *********************************************************************',
      'db01                       : ok=1    changed=1    unreachable=0    failed=1    skipped=0    rescued=0    ignored=0',
      'FAILED: stage pb_fail_db.yml exited with status 2 (see the log above for the failed task)',
    ]);
  });

  it('a command\'s standard error when it has no msg; a handler; an item; ignored failures are not the failure', () => {
    const log = [
      'TASK [Try something] ***',
      'fatal: [web01]: FAILED! => {"changed": false, "msg": "first"}',
      '...ignoring',
      'RUNNING HANDLER [webserver : Test nginx configuration] ***',
      'failed: [web01] (item=a) => {"rc": 1, "stderr": "nginx: [emerg] unknown directive\\nline 2", "msg": ""}',
    ].join('\n');
    expect(summarizeHostLog(log)).toMatchObject({ task: 'webserver : Test nginx configuration', message: 'nginx: [emerg] unknown directive / line 2' });
  });

  it('Ansible\'s own error when no task ran; nothing made up when the log says nothing', () => {
    expect(summarizeHostLog('ERROR! the role \'missing\' was not found in /root/ansible/roles\n')).toEqual({
      message: "the role 'missing' was not found in /root/ansible/roles",
      tail: ["ERROR! the role 'missing' was not found in /root/ansible/roles"],
    });
    expect(summarizeHostLog('container gone\n')).toEqual({ tail: ['container gone'] });
  });

  it('an unreachable host; a message that is no JSON', () => {
    expect(summarizeHostLog('TASK [Gathering Facts] ***\nfatal: [web01]: UNREACHABLE! => {"changed": false, "msg": "channel closed", "unreachable": true}')).toMatchObject({ task: 'Gathering Facts', message: 'channel closed' });
    expect(summarizeHostLog('TASK [x] ***\nfatal: [web01]: FAILED! => not json at all')).toMatchObject({ task: 'x', message: 'not json at all' });
  });
});
