# Attack: open a network connection (a loopback port the grader listens on, never another host).
# Expected in the sandbox: "Network is unreachable" (ENETUNREACH), because the kernel has its own
# network namespace with no interface up (as root; otherwise a private loopback that refuses).
import socket

s = socket.socket()
s.settimeout(3)
try:
    s.connect(("127.0.0.1", __PORT__))
    print("RESULT connected", s.recv(64).decode())
except OSError as err:
    print("RESULT blocked", type(err).__name__, err.errno, socket.if_nameindex())
