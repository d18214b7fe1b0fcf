import Digest
import JSON

/// The authentication handshake that opens every connection (`docs/protocol.md`).
///
/// 1. The server sends the notification `auth.Challenge` with its account and a fresh random
///    nonce.
/// 2. The client answers with the request `auth.Authenticate`: who it is (an IAM access key id,
///    or `peerAccount` for a node of the cluster), a nonce of its own, and an HMAC-SHA256 over
///    both nonces and its identity, keyed by its secret (the access key's secret, or the peer
///    node's secret).
/// 3. The server checks the MAC and answers with the caller's identity and a MAC of its own over
///    the same values, so the client knows it reached a node that holds the secret too.
///
/// No secret crosses the wire, and a captured exchange is useless: the server's nonce is new on
/// every connection, so an old signature never verifies again.
public enum Handshake {
    public static let protocolName = "crml-auth-1"
    public static let challengeMethod = "auth.Challenge"
    public static let authenticateMethod = "auth.Authenticate"

    /// Who a client claims to be.
    public enum Identity: Equatable, Sendable {
        case accessKey(String)
        case peer(account: String)

        var canonical: String {
            switch self {
            case .accessKey(let id): return "key:\(id)"
            case .peer(let account): return "peer:\(account)"
            }
        }
    }

    static func canonical(_ role: String, serverAccount: String, serverNonce: String, clientNonce: String, identity: Identity) -> [UInt8] {
        Array([protocolName, role, serverAccount, serverNonce, clientNonce, identity.canonical].joined(separator: "\n").utf8)
    }

    public static func clientSignature(secret: [UInt8], serverAccount: String, serverNonce: String, clientNonce: String, identity: Identity) -> String {
        Hex.encode(HMACSHA256.authenticate(canonical("client", serverAccount: serverAccount, serverNonce: serverNonce, clientNonce: clientNonce, identity: identity), key: secret))
    }

    public static func serverSignature(secret: [UInt8], serverAccount: String, serverNonce: String, clientNonce: String, identity: Identity) -> String {
        Hex.encode(HMACSHA256.authenticate(canonical("server", serverAccount: serverAccount, serverNonce: serverNonce, clientNonce: clientNonce, identity: identity), key: secret))
    }

    public static func verify(_ signature: String, expected: String) -> Bool {
        HMACSHA256.constantTimeEquals(Array(signature.utf8), Array(expected.utf8))
    }

    /// 32 random bytes as hex.
    public static func nonce() -> String {
        var g = SystemRandomNumberGenerator()
        return Hex.encode((0..<32).map { _ in UInt8.random(in: 0...255, using: &g) })
    }

    public static func challenge(account: String, nonce: String) -> RPCMessage {
        .notification(method: challengeMethod, params: ["protocol": .string(protocolName), "account": .string(account), "nonce": .string(nonce)])
    }

    /// The `auth.Authenticate` params for an identity.
    public static func authenticateParams(identity: Identity, clientNonce: String, signature: String) -> JSON {
        var p: [String: JSON] = ["clientNonce": .string(clientNonce), "signature": .string(signature)]
        switch identity {
        case .accessKey(let id): p["accessKeyId"] = .string(id)
        case .peer(let account): p["peerAccount"] = .string(account)
        }
        return .object(p)
    }

    /// Reads `auth.Authenticate` params; `nil` when they are not well formed.
    public static func parseAuthenticate(_ params: JSON) -> (identity: Identity, clientNonce: String, signature: String)? {
        guard let nonce = params["clientNonce"]?.stringValue, nonce.utf8.count >= 16, nonce.utf8.count <= 128,
              let sig = params["signature"]?.stringValue, sig.utf8.count == 64 else { return nil }
        if let key = params["accessKeyId"]?.stringValue, params["peerAccount"] == nil, !key.isEmpty, key.utf8.count <= 128 {
            return (.accessKey(key), nonce, sig)
        }
        if let peer = params["peerAccount"]?.stringValue, params["accessKeyId"] == nil, peer.utf8.count == 12 {
            return (.peer(account: peer), nonce, sig)
        }
        return nil
    }
}
