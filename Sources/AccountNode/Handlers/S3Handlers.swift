import CleanRoomsModel
import Digest
import JSON

/// `s3.*`: the account's simulated object store. Buckets and object metadata live in the node's
/// state; object bytes live in the node's blob store, written before the metadata is logged.
/// Bodies travel as base64. Bucket names are unique within the account (not across accounts).
enum S3Handlers {
    static func register(_ h: inout [String: AccountNodeCore.Handler]) {
        h["s3.CreateBucket"] = createBucket
        h["s3.DeleteBucket"] = deleteBucket
        h["s3.ListBuckets"] = listBuckets
        h["s3.PutObject"] = putObject
        h["s3.GetObject"] = { core, call in try getObject(core, call, withBody: true) }
        h["s3.HeadObject"] = { core, call in try getObject(core, call, withBody: false) }
        h["s3.ListObjectsV2"] = listObjects
        h["s3.DeleteObject"] = deleteObject
    }

    static func bucketARN(_ b: String) -> String { "arn:aws:s3:::\(b)" }
    static func objectARN(_ b: String, _ k: String) -> String { "arn:aws:s3:::\(b)/\(k)" }

    static func validBucketName(_ n: String) -> Bool {
        let u = Array(n.utf8)
        guard (3...63).contains(u.count) else { return false }
        let ok = u.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2E || $0 == 0x2D }
        let alnum: (UInt8) -> Bool = { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) }
        return ok && alnum(u.first!) && alnum(u.last!) && !n.contains("..")
    }

    static func bucket(_ core: AccountNodeCore, _ name: String) throws(AWSError) -> Bucket {
        guard let b = core.state.buckets[name] else { throw AWSError(.noSuchBucket, "The specified bucket does not exist: \(name)") }
        return b
    }

    static func createBucket(_ core: AccountNodeCore, _ call: Call) throws(AWSError) -> Reply {
        let name = try call.string("Bucket")
        call.auditResource("AWS::S3::Bucket", name)
        guard validBucketName(name) else {
            throw AWSError(AWSErrorCode("InvalidBucketName", 400), "The specified bucket is not valid: \(name) (3 to 63 lower-case letters, digits, dots and hyphens, starting and ending with a letter or digit)")
        }
        try core.authorize(call, "s3:CreateBucket", bucketARN(name))
        if core.state.buckets[name] != nil { throw AWSError(.bucketAlreadyOwnedByYou, "Your previous request to create the named bucket succeeded and you already own it: \(name)") }
        core.emit(.bucketCreated(name: name, at: call.now))
        return .result(["Location": .string("/\(name)"), "BucketArn": .string(bucketARN(name))])
    }

    static func deleteBucket(_ core: AccountNodeCore, _ call: Call) throws(AWSError) -> Reply {
        let name = try call.string("Bucket")
        call.auditResource("AWS::S3::Bucket", name)
        try core.authorize(call, "s3:DeleteBucket", bucketARN(name))
        let b = try bucket(core, name)
        if !b.objects.isEmpty { throw AWSError(.bucketNotEmpty, "The bucket you tried to delete is not empty: \(name)") }
        core.emit(.bucketDeleted(name: name))
        return .result([:])
    }

    static func listBuckets(_ core: AccountNodeCore, _ call: Call) throws(AWSError) -> Reply {
        try core.authorize(call, "s3:ListAllMyBuckets", "*")
        let prefix = call.optionalString("Prefix") ?? ""
        let all = core.state.buckets.values.filter { $0.name.hasPrefix(prefix) }.sorted { $0.name < $1.name }
        let page = try Page.slice(all, key: \.name, token: call.optionalString("ContinuationToken"), max: call.int("MaxBuckets") ?? 10000, errorCode: .invalidRequest)
        return .result(.compactObject([
            "Buckets": .array(page.items.map { ["Name": .string($0.name), "CreationDate": .number($0.createDate), "BucketRegion": .string(core.config.region)] }),
            "Owner": ["ID": .string(core.config.account.rawValue), "DisplayName": .string(core.config.account.rawValue)],
            "ContinuationToken": page.next.map { .string($0) },
            "Prefix": call.optionalString("Prefix").map { .string($0) },
        ]))
    }

    static func putObject(_ core: AccountNodeCore, _ call: Call) throws(AWSError) -> Reply {
        let name = try call.string("Bucket")
        let key = try call.string("Key")
        call.auditResource("AWS::S3::Object", objectARN(name, key))
        guard key.utf8.count <= 1024 else { throw AWSError(AWSErrorCode("KeyTooLongError", 400), "Your key is too long: \(key.utf8.count) bytes, at most 1024") }
        try core.authorize(call, "s3:PutObject", objectARN(name, key))
        let body = Base64.decode(call.optionalString("Body") ?? "") ?? []
        let old = try bucket(core, name).objects[key]
        // S3's ETag of an object put in one part: the MD5 of its bytes.
        let etag = "\"\(Hex.encode(MD5.hash(body)))\""
        let blob = core.newUUID()
        core.writeBlob(blob, body)
        core.emit(.objectPut(bucket: name, object: S3Object(key: key, size: body.count, etag: etag, lastModified: call.now,
                                                            contentType: call.optionalString("ContentType"), blob: blob)))
        if let old { core.deleteBlob(old.blob) }
        return .result(["ETag": .string(etag), "Size": .int(body.count)])
    }

    static func objectShape(_ o: S3Object) -> [String: JSON] {
        var r: [String: JSON] = ["ETag": .string(o.etag), "ContentLength": .int(o.size), "LastModified": .number(o.lastModified)]
        if let t = o.contentType { r["ContentType"] = .string(t) }
        return r
    }

    static func getObject(_ core: AccountNodeCore, _ call: Call, withBody: Bool) throws(AWSError) -> Reply {
        let name = try call.string("Bucket")
        let key = try call.string("Key")
        call.auditResource("AWS::S3::Object", objectARN(name, key))
        try core.authorize(call, "s3:GetObject", objectARN(name, key))
        guard let o = try bucket(core, name).objects[key] else { throw AWSError(.noSuchKey, "The specified key does not exist: \(key)") }
        return withBody ? .resultWithBody(.object(objectShape(o)), blob: o.blob) : .result(.object(objectShape(o)))
    }

    static func listObjects(_ core: AccountNodeCore, _ call: Call) throws(AWSError) -> Reply {
        let name = try call.string("Bucket")
        call.auditResource("AWS::S3::Bucket", name)
        try core.authorize(call, "s3:ListBucket", bucketARN(name), context: [
            "s3:prefix": .single(call.optionalString("Prefix") ?? ""), "s3:max-keys": .single(String(call.int("MaxKeys") ?? 1000)),
        ])
        let b = try bucket(core, name)
        let prefix = call.optionalString("Prefix") ?? ""
        let delimiter = call.optionalString("Delimiter")
        let startAfter = call.optionalString("StartAfter") ?? ""
        // Keys, with keys under a delimiter folded into their common prefix.
        var entries: [(key: String, object: S3Object?)] = []
        var seenPrefixes = Set<String>()
        for key in b.objects.keys.sorted() where key.hasPrefix(prefix) && key > startAfter {
            if let d = delimiter, !d.isEmpty, let r = key.dropFirst(prefix.count).firstRange(of: d) {
                let common = prefix + String(key.dropFirst(prefix.count)[..<r.upperBound])
                if seenPrefixes.insert(common).inserted { entries.append((common, nil)) }
            } else {
                entries.append((key, b.objects[key]))
            }
        }
        let maxKeys = call.int("MaxKeys") ?? 1000
        let page = try Page.slice(entries, key: \.key, token: call.optionalString("ContinuationToken"), max: maxKeys, errorCode: .invalidRequest)
        let contents = page.items.compactMap { e in e.object.map { o -> JSON in
            ["Key": .string(o.key), "Size": .int(o.size), "ETag": .string(o.etag), "LastModified": .number(o.lastModified), "StorageClass": "STANDARD"]
        } }
        let prefixes = page.items.filter { $0.object == nil }.map { JSON.object(["Prefix": .string($0.key)]) }
        return .result(.compactObject([
            "Name": .string(name), "Prefix": .string(prefix), "MaxKeys": .int(maxKeys), "KeyCount": .int(page.items.count),
            "IsTruncated": .bool(page.next != nil), "Contents": contents.isEmpty ? nil : .array(contents),
            "CommonPrefixes": prefixes.isEmpty ? nil : .array(prefixes), "Delimiter": delimiter.map { .string($0) },
            "ContinuationToken": call.optionalString("ContinuationToken").map { .string($0) },
            "NextContinuationToken": page.next.map { .string($0) },
        ]))
    }

    static func deleteObject(_ core: AccountNodeCore, _ call: Call) throws(AWSError) -> Reply {
        let name = try call.string("Bucket")
        let key = try call.string("Key")
        call.auditResource("AWS::S3::Object", objectARN(name, key))
        try core.authorize(call, "s3:DeleteObject", objectARN(name, key))
        if let old = try bucket(core, name).objects[key] {
            core.emit(.objectDeleted(bucket: name, key: key))
            core.deleteBlob(old.blob)
        }
        return .result([:])
    }
}
