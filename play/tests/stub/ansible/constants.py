# Prints at import when asked (STUB_NOISE), as a careless plugin does: it must never reach vauban's channel.
import os
import sys

DEFAULT_EXECUTABLE = '/bin/sh'
if os.environ.get('STUB_NOISE') == '1':
    sys.stdout.write('noise printed at import\n')
    sys.stdout.flush()
