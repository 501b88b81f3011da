class ConnectionBase(object):
    def __init__(self):
        self.cwd = None
        self._connected = True

    def exec_command(self, cmd, in_data=None, sudoable=True):
        return None

    def put_file(self, in_path, out_path):
        return None

    def fetch_file(self, in_path, out_path):
        return None
