# Sourced by the system tests that start servers.
# A port free for TCP and UDP on 127.0.0.1, below the kernel's ephemeral range
# (32768-60999): a port the OS picks can be taken by any test's outgoing
# connection between this check and our bind.
free_port() {
  python3 -c '
import random, socket
for _ in range(200):
    port = random.randint(20000, 32767)
    try:
        for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
            s = socket.socket(socket.AF_INET, kind)
            try:
                s.bind(("127.0.0.1", port))
            finally:
                s.close()
    except OSError:
        continue
    print(port)
    break
'
}
