from ansible.plugins.connection import ConnectionBase


class Connection(ConnectionBase):
    pass
