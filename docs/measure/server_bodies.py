# Server memory with 200 concurrent authenticated bodies (issue 13 figures).
import json, os, socket, subprocess, sys, time, threading
booth = sys.argv[1]
d = "/tmp/mem200/data"; os.makedirs(d, exist_ok=True)
db = f"sqlite:{d}/office.db"
env = dict(os.environ); env.pop("BOOTH_SERVER_DB", None)
tok = json.loads(subprocess.run([booth, "server", "add-device", f"lap{time.time()}", "--db", db, "--json"], capture_output=True, env=env, check=True).stdout)["token"]
srv = subprocess.Popen([booth, "server", "run", "--listen", "127.0.0.1:0", "--db", db] + sys.argv[4:], stdout=subprocess.PIPE, stderr=open("/tmp/mem200/server.log", "w"), env=env)
addr = json.loads(srv.stdout.readline())["listening"]; host, port = addr.rsplit(":", 1)
def rss():
    s = open(f"/proc/{srv.pid}/status").read()
    g = lambda k: int([l for l in s.splitlines() if l.startswith(k)][0].split()[1]) / 1024
    return g("VmRSS:"), g("VmHWM:")
time.sleep(1); print("idle: RSS %.1f MB, peak %.1f MB" % rss())
N = int(sys.argv[2]) if len(sys.argv) > 2 else 200
SENT = 1_000_000
CL = int(sys.argv[3]) if len(sys.argv) > 3 else 16*1024*1024 - 1
socks = []
def one(i):
    s = socket.create_connection((host, int(port)))
    s.sendall((f"POST /v1/batches HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {tok}\r\nbooth-device-key: AAAA\r\nbooth-signature: AAAA\r\n"
               f"Content-Type: application/json\r\nContent-Length: {CL}\r\n\r\n").encode())
    try:
        s.sendall(b" " * SENT)
    except OSError:
        pass
    socks.append(s)
ts = [threading.Thread(target=one, args=(i,)) for i in range(N)]
t0 = time.time()
[t.start() for t in ts]; [t.join() for t in ts]
for k in range(10):
    time.sleep(1); r = rss()
print("%d clients each sent %d MB of a %d-byte body and stall: RSS %.1f MB, peak %.1f MB (%.1f s)" % (N, SENT // 1_000_000, CL, r[0], r[1], time.time() - t0))
# a real client is still answered
import urllib.request
t1 = time.time(); h = urllib.request.urlopen(f"http://{addr}/v1/health", timeout=30).status
print("health during: %d in %.2f s" % (h, time.time() - t1))
socks[0].settimeout(2)
try: print("first socket got:", socks[0].recv(200))
except Exception as e: print("first socket: nothing yet", e)
[s.close() for s in socks]; time.sleep(3)
print("after close: RSS %.1f MB, peak %.1f MB" % rss())
srv.terminate()
