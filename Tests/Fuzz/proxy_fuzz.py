#!/usr/bin/env python3
"""Mutation fuzzer for kgate's proxy listener (`make fuzz-proxy`).

Sends mutated HTTP/1.x requests (bytes flipped, inserted, deleted, duplicated; pipelined
pairs; split into small writes; connections ended with a close or a reset) to a running node
and checks every 500 requests that it still answers. Usage: proxy_fuzz.py PORT COUNT SEED.
Exits 1 when the node stops answering; the last request sent is in LAST_FILE (env).
"""
import os, random, socket, sys
port=int(sys.argv[1]); n=int(sys.argv[2]); seed=int(sys.argv[3])
rnd=random.Random(seed)
templates=[
 b"GET /echo?a=1&b=%20x HTTP/1.1\r\nHost: bench\r\nUser-Agent: fz\r\nAccept: */*\r\n\r\n",
 b"POST /up HTTP/1.1\r\nHost: bench\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello",
 b"POST /up HTTP/1.1\r\nHost: bench\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
 b"GET / HTTP/1.0\r\nHost: bench\r\nConnection: keep-alive\r\n\r\n",
 b"GET /ws HTTP/1.1\r\nHost: bench\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: x\r\n\r\n",
 b"PUT /x HTTP/1.1\r\nHost: bench\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc",
 b"GET http://bench/abs?x HTTP/1.1\r\nHost: other\r\nX-Forwarded-For: 1.2.3.4, ::1\r\nX-Forwarded-Proto: https\r\n\r\n",
 b"OPTIONS * HTTP/1.1\r\nHost: bench\r\n\r\n",
 b"GET /a/../b/./c//d%2e%2e/%00 HTTP/1.1\r\nHost: bench:80\r\nCookie: a=b\r\nAccept-Encoding: gzip, br;q=0.5\r\n\r\n",
 b"GET /t HTTP/1.1\r\nHost: bench\r\ntraceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\r\nb3: 0af7651916cd43dd-b7ad6b7169203331-d-b7ad6b7169203332\r\nZipkin-Tags: a=b; c = d\r\n\r\n",
 b"POST /ai HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\nContent-Length: 70\r\n\r\n{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi \\u00e9\"}],\"n\":1}",
 b"POST /ai HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\nContent-Length: 52\r\n\r\n{\"messages\":\"{template://t}\",\"properties\":{\"x\":\"y\"}}",
 b"GET /gw/v1/items/12?name=n&part.label=x&part.inner.label=y&on=false&tags=a&tags=b&kind=SOME&at=2023-01-02T03:04:05Z HTTP/1.1\r\nHost: bench\r\n\r\n",
 b"POST /gw/v1/items/a/b HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\nContent-Length: 140\r\n\r\n{\"id\":\"7\",\"part\":{\"label\":\"x\",\"inner\":{\"label\":\"y\"}},\"on\":1,\"tags\":[\"a\"],\"counts\":{\"k\":2},\"at\":\"2023-01-02T03:04:05Z\",\"kind\":\"SOME\",\"d\":1.5}",
 b"GET /t HTTP/1.1\r\nHost: bench\r\nuber-trace-id: 8448eb211c80319c:b7ad6b7169203331:0:1\r\nuberctx-k: v%20w\r\nx-datadog-trace-id: 9532127138774266268\r\nx-amzn-trace-id: Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1\r\nx-cloud-trace-context: 0af7651916cd43dd8448eb211c80319c/123;o=1\r\n\r\n",
]
specials=[b"\x00",b"\r",b"\n",b"\r\n",b" ",b"\t",b":",b"%",b"%zz",b"\xff",b"\xc3\x28",b"/",b"?",b"#",b"..",b"\\",b"\"",b"0",b"-1",b"99999999999999999999",b"chunked",b"Content-Length: 0\r\n",b"Transfer-Encoding: chunked\r\n",b"Host: x\r\n",b"a"*9000,b";ext=1",b"\r\n\r\n"]
def mutate(b):
    b=bytearray(b)
    for _ in range(rnd.randint(1,4)):
        op=rnd.random(); i=rnd.randint(0,len(b))
        if op<0.3 and len(b)>0: b[min(i,len(b)-1)]=rnd.randint(0,255)
        elif op<0.6: b[i:i]=rnd.choice(specials)
        elif op<0.8 and len(b)>1: j=rnd.randint(i,min(len(b),i+20)); del b[i:j]
        else:
            j=rnd.randint(0,len(b)); b[i:i]=b[j:j+rnd.randint(1,30)]
    return bytes(b)
last=open(os.environ.get("LAST_FILE", f"/tmp/kgate-fuzz-last-{seed}.txt"), "w")
for k in range(n):
    t=rnd.choice(templates); data=mutate(t)
    if rnd.random()<0.3: data=data+mutate(rnd.choice(templates))  # pipelined
    last.seek(0); last.truncate(); last.write(repr(data)+"\n"); last.flush()
    try:
        s=socket.create_connection(("127.0.0.1",port),timeout=3)
        s.settimeout(0.5)
        if rnd.random()<0.5: s.sendall(data)
        else:
            for i in range(0,len(data),rnd.randint(1,7)): s.sendall(data[i:i+7]) 
        try: s.recv(65536)
        except Exception: pass
        if rnd.random()<0.3: s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        s.close()
    except ConnectionRefusedError:
        print("REFUSED at", k, repr(data)); sys.exit(1)
    except Exception as e:
        pass
    if k%500==0:
        try:
            c=socket.create_connection(("127.0.0.1",port),timeout=5); c.sendall(b"GET / HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n"); r=c.recv(100); c.close()
            if not r.startswith(b"HTTP/1.1"): print("odd", r)
        except Exception as e: print("HEALTH FAIL at",k,e, repr(data)); sys.exit(1)
print("done", n)
