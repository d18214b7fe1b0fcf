import Testing
import Wire

@Test func framerYieldsWholeLinesOnly() {
    var f = LineFramer(maxLineLength: 100)
    #expect(f.feed(Array("abc".utf8)) == [])
    #expect(f.feed(Array("def\ngh".utf8)) == [.line(Array("abcdef".utf8))])
    #expect(f.feed(Array("\n\n".utf8)) == [.line(Array("gh".utf8)), .line([])])
    #expect(!f.endsMidLine)
}

/// Every way of cutting the stream gives the same lines: one byte at a time, and every split.
@Test func framerIsIndependentOfHowBytesArrive() {
    let stream = Array("{\"a\":1}\n{\"b\":\"x\\ny\"}\n\nlast\n".utf8)
    var whole = LineFramer()
    let expected = whole.feed(stream)
    #expect(expected.count == 4)
    var oneByOne = LineFramer()
    var got: [LineFramer.Event] = []
    for b in stream { got += oneByOne.feed([b]) }
    #expect(got == expected)
    for split in 0...stream.count {
        var f = LineFramer()
        #expect(f.feed(stream[..<split]) + f.feed(stream[split...]) == expected, "split \(split)")
    }
}

@Test func overlongLineIsReportedOnceAndStopsTheFramer() {
    var f = LineFramer(maxLineLength: 8)
    #expect(f.feed(Array("12345678\n".utf8)) == [.line(Array("12345678".utf8))])
    #expect(f.feed(Array("123456789".utf8)) == [.tooLong(limit: 8)])
    #expect(f.failed)
    #expect(f.feed(Array("\nok\n".utf8)) == [])
}

@Test func overlongLineArrivingByteByByteIsCaughtBeforeItsNewline() {
    var f = LineFramer(maxLineLength: 16)
    var events: [LineFramer.Event] = []
    for _ in 0..<1000 { events += f.feed([0x41]) }
    #expect(events == [.tooLong(limit: 16)])
    #expect(f.pendingByteCount == 0)
}

@Test func leftoverBytesAtEndOfStreamAreVisible() {
    var f = LineFramer()
    _ = f.feed(Array("partial".utf8))
    #expect(f.endsMidLine)
}
