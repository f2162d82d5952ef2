# Attack: open a network connection (a loopback port the grader listens on, never another host).
# Expected in the sandbox: refused, because the kernel has its own, empty network namespace.
import socket
s = socket.socket()
s.settimeout(3)
try:
    s.connect(("127.0.0.1", __PORT__))
    print("RESULT connected", s.recv(64).decode())
except OSError as err:
    print("RESULT blocked", type(err).__name__, socket.if_nameindex())
