/// An AWS error type: the name a client sees (`data.type` on the wire, the `(…)` in aws-cli's
/// message) and its HTTP status. Names and statuses come from the service models in
/// `shared/api/`; where a model gives an explicit `error.code` (IAM, STS) that code is the name.
public struct AWSErrorCode: Hashable, Sendable, CustomStringConvertible {
    public let name: String
    public let httpStatus: Int

    public init(_ name: String, _ httpStatus: Int) {
        self.name = name
        self.httpStatus = httpStatus
    }

    public var description: String { name }
}

extension AWSErrorCode {
    // Clean Rooms ML and Clean Rooms (rest-json).
    public static let accessDenied = AWSErrorCode("AccessDeniedException", 403)
    public static let conflict = AWSErrorCode("ConflictException", 409)
    public static let internalService = AWSErrorCode("InternalServiceException", 500)
    public static let internalServer = AWSErrorCode("InternalServerException", 500)
    public static let resourceNotFound = AWSErrorCode("ResourceNotFoundException", 404)
    public static let serviceQuotaExceeded = AWSErrorCode("ServiceQuotaExceededException", 402)
    public static let throttling = AWSErrorCode("ThrottlingException", 429)
    public static let validation = AWSErrorCode("ValidationException", 400)

    // IAM and STS (query protocol: the model's error code).
    public static let noSuchEntity = AWSErrorCode("NoSuchEntity", 404)
    public static let entityAlreadyExists = AWSErrorCode("EntityAlreadyExists", 409)
    public static let deleteConflict = AWSErrorCode("DeleteConflict", 409)
    public static let invalidInput = AWSErrorCode("InvalidInput", 400)
    public static let limitExceeded = AWSErrorCode("LimitExceeded", 409)
    public static let malformedPolicyDocument = AWSErrorCode("MalformedPolicyDocument", 400)
    public static let policyEvaluation = AWSErrorCode("PolicyEvaluation", 500)

    // S3 (rest-xml).
    public static let noSuchBucket = AWSErrorCode("NoSuchBucket", 404)
    public static let noSuchKey = AWSErrorCode("NoSuchKey", 404)
    public static let bucketAlreadyOwnedByYou = AWSErrorCode("BucketAlreadyOwnedByYou", 409)
    public static let bucketAlreadyExists = AWSErrorCode("BucketAlreadyExists", 409)
    public static let invalidRequest = AWSErrorCode("InvalidRequest", 400)
    public static let bucketNotEmpty = AWSErrorCode("BucketNotEmpty", 409)

    // Glue and CloudTrail (json protocol: the models give no status; AWS answers 400).
    public static let entityNotFound = AWSErrorCode("EntityNotFoundException", 400)
    public static let alreadyExists = AWSErrorCode("AlreadyExistsException", 400)
    public static let glueInvalidInput = AWSErrorCode("InvalidInputException", 400)
    public static let invalidLookupAttributes = AWSErrorCode("InvalidLookupAttributesException", 400)
    public static let invalidMaxResults = AWSErrorCode("InvalidMaxResultsException", 400)
    public static let invalidNextToken = AWSErrorCode("InvalidNextTokenException", 400)
    public static let invalidTimeRange = AWSErrorCode("InvalidTimeRangeException", 400)

    // Failures of the service itself, per protocol: IAM's model code, S3's and the query/json
    // protocols' common ones (not in the models).
    public static let serviceFailure = AWSErrorCode("ServiceFailure", 500)
    public static let s3InternalError = AWSErrorCode("InternalError", 500)
    public static let internalFailure = AWSErrorCode("InternalFailure", 500)

    /// The 500 error `service` answers when the fault is the service's own.
    public static func internalError(service: String) -> AWSErrorCode {
        switch service {
        case "cleanroomsml", "glue": return .internalService
        case "cleanrooms": return .internalServer
        case "iam": return .serviceFailure
        case "s3": return .s3InternalError
        default: return .internalFailure
        }
    }

    // Authentication (AWS's answer to an unknown or unsigned caller).
    public static let unrecognizedClient = AWSErrorCode("UnrecognizedClientException", 403)
    public static let invalidSignature = AWSErrorCode("InvalidSignatureException", 403)
}

/// An error as AWS would return it: a type, its status, and a message for a person.
public struct AWSError: Error, Hashable, Sendable, CustomStringConvertible {
    public let code: AWSErrorCode
    public let message: String

    public init(_ code: AWSErrorCode, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.name): \(message)" }
}
