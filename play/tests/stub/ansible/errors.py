class AnsibleError(Exception):
    pass


class AnsibleConnectionFailure(AnsibleError):
    pass


class AnsibleFileNotFound(AnsibleError):
    pass
