// Wire frames of the Sluice JSON protocol (docs/protocol.md) and their
// conversion to the client's public shapes.
/** toMessage turns a wire message frame into the public Message shape. */
export function toMessage(f) {
    const m = {
        topic: f.topic,
        partition: f.partition,
        offset: f.offset,
        timestamp: f.timestamp,
    };
    if (f.key !== undefined)
        m.key = f.key;
    if (f.key_b64 !== undefined)
        m.keyB64 = f.key_b64;
    if ("value" in f)
        m.value = f.value;
    if (f.value_b64 !== undefined)
        m.valueB64 = f.value_b64;
    if (f.schema_id !== undefined)
        m.schemaId = f.schema_id;
    if (f.headers !== undefined)
        m.headers = f.headers;
    if (f.headers_b64 !== undefined)
        m.headersB64 = f.headers_b64;
    return m;
}
/** base64 encodes bytes with the standard alphabet, in browsers and Node. */
export function base64(bytes) {
    let s = "";
    const chunk = 0x8000;
    for (let i = 0; i < bytes.length; i += chunk) {
        s += String.fromCharCode(...bytes.subarray(i, i + chunk));
    }
    return btoa(s);
}
