// Owns the load generator's HTTP client: one keep-alive HTTP/1.1 connection over a TCP socket,
// one request at a time (no pipelining), with just enough response parsing for the benchmark
// servers (status line, Content-Length or chunked body). Sending prebuilt request text on a raw
// socket keeps the generator's own CPU per request small, so more of the machine is left to the
// server under test.

import net from 'node:net';

const HEADER_END = Buffer.from('\r\n\r\n');
const CHUNKED_END = Buffer.from('0\r\n\r\n');

export class Connection {
  #socket;
  #pending = null;
  #bodyEnd = -1;
  #chunked = false;
  #status = 0;
  #callback = null;
  #onClose;
  closed = false;

  /** Opens a connection to 127.0.0.1:port; `onClose(error)` runs once if it closes unexpectedly. */
  static open(port, onClose) {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ port, host: '127.0.0.1', noDelay: true });
      const failed = (error) => reject(error);
      socket.once('error', failed);
      socket.once('connect', () => {
        socket.off('error', failed);
        resolve(new Connection(socket, onClose));
      });
    });
  }

  constructor(socket, onClose) {
    this.#socket = socket;
    this.#onClose = onClose;
    socket.on('data', (chunk) => this.#data(chunk));
    socket.on('error', () => {});
    socket.on('close', () => {
      this.closed = true;
      const callback = this.#callback;
      this.#callback = null;
      if (callback) callback(0, new Error('connection closed with a request outstanding'));
      this.#onClose?.();
    });
  }

  /** Sends one request; `callback(status, error)` runs when its whole response has arrived. */
  request(text, callback) {
    this.#callback = callback;
    this.#pending = null;
    this.#bodyEnd = -1;
    this.#chunked = false;
    this.#socket.write(text, 'latin1');
  }

  close() {
    this.#onClose = undefined;
    this.#callback = null;
    this.#socket.destroy();
  }

  #data(chunk) {
    const buf = this.#pending === null ? chunk : Buffer.concat([this.#pending, chunk]);
    if (this.#bodyEnd < 0 && !this.#chunked) {
      const h = buf.indexOf(HEADER_END);
      if (h === -1) {
        this.#pending = buf;
        return;
      }
      const head = buf.toString('latin1', 0, h).toLowerCase();
      this.#status = Number.parseInt(head.slice(9, 12), 10);
      const length = head.indexOf('\ncontent-length:');
      if (length !== -1) this.#bodyEnd = h + 4 + Number.parseInt(head.slice(length + 16), 10);
      else if (head.includes('\ntransfer-encoding: chunked')) this.#chunked = true;
      else this.#bodyEnd = h + 4;
    }
    let complete;
    if (this.#chunked) complete = buf.length >= 5 && buf.subarray(buf.length - 5).equals(CHUNKED_END);
    else complete = buf.length >= this.#bodyEnd;
    if (!complete) {
      this.#pending = buf;
      return;
    }
    const extra = !this.#chunked && buf.length > this.#bodyEnd;
    const callback = this.#callback;
    this.#callback = null;
    this.#pending = null;
    callback?.(this.#status, extra ? new Error('unexpected bytes after a response') : undefined);
  }
}
