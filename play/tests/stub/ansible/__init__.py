# A stand-in for Ansible with just what play/controller.py imports: the tests of
# play/ drive the controller and the agent over their channels without Docker.
