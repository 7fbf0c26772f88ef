import Foundation
import XCTest

@testable import NCFReport
@testable import NCFSweep

/// Chart geometry: linear, log and categorical scales, their ticks, and the helpers that keep
/// charts readable (robust metric range, number formatting).
final class ReportScaleTests: XCTestCase {
    // MARK: Linear

    func testLinearScaleMapsTheNiceDomainOntoTheRange() {
        let s = Scale.linear(covering: [0.13, 0.87], from: 100, to: 300)
        XCTAssertEqual(s.lo, 0, accuracy: 1e-12, "widened down to a multiple of the 0.2 step")
        XCTAssertEqual(s.hi, 1, accuracy: 1e-12)
        XCTAssertEqual(s.position(0)!, 100, accuracy: 1e-9)
        XCTAssertEqual(s.position(1)!, 300, accuracy: 1e-9)
        XCTAssertEqual(s.position(0.5)!, 200, accuracy: 1e-9)
        XCTAssertEqual(s.ticks().map(\.label), ["0", "0.2", "0.4", "0.6", "0.8", "1.0"])
    }

    func testAYAxisRunsBottomUp() {
        let s = Scale.linear(covering: [0, 10], from: 250, to: 50)
        XCTAssertEqual(s.position(0)!, 250, accuracy: 1e-9)
        XCTAssertEqual(s.position(10)!, 50, accuracy: 1e-9)
        XCTAssertLessThan(s.position(7)!, s.position(3)!, "larger values are higher up")
        XCTAssertEqual(s.clampedPosition(20)!, 50, accuracy: 1e-9, "clamped to the axis end")
    }

    func testLinearTicksAreRoundAndInsideTheDomain() {
        let s = Scale.linear(covering: [0.8731, 1.2049], from: 0, to: 100)
        let ticks = s.ticks(target: 5)
        XCTAssertGreaterThanOrEqual(ticks.count, 3)
        for t in ticks {
            XCTAssertTrue(s.contains(t.value), "\(t.value) outside \(s.lo)…\(s.hi)")
            XCTAssertEqual(Double(t.label)!, t.value, accuracy: 1e-9, "label \(t.label) reads as its value")
        }
        let steps = zip(ticks.dropFirst(), ticks).map { $0.value - $1.value }
        XCTAssertTrue(steps.allSatisfy { abs($0 - steps[0]) < 1e-9 }, "evenly spaced: \(steps)")
    }

    func testOneValueSitsInTheMiddleOfAWidenedAxis() {
        for v in [0.0, 0.9123, 42, -3] {
            let s = Scale.linear(covering: [v], from: 0, to: 100, nice: false)
            XCTAssertLessThan(s.lo, v)
            XCTAssertGreaterThan(s.hi, v)
            XCTAssertEqual(s.position(v)!, 50, accuracy: 1e-9, "value \(v)")
        }
    }

    func testNoValuesGiveAUnitAxisAndNaNHasNoPosition() {
        let s = Scale.linear(covering: [.nan, .infinity], from: 0, to: 100)
        XCTAssertEqual(s.lo, 0)
        XCTAssertEqual(s.hi, 1)
        XCTAssertNil(s.position(.nan))
        XCTAssertNil(s.position(-.infinity))
        XCTAssertFalse(s.contains(.nan))
    }

    // MARK: Log

    func testLogScaleIsLinearInTheExponent() {
        let s = Scale.log(covering: [1, 100], from: 0, to: 200)
        XCTAssertEqual(s.position(1)!, 0, accuracy: 1e-9)
        XCTAssertEqual(s.position(10)!, 100, accuracy: 1e-9, "10 is halfway between 1 and 100")
        XCTAssertEqual(s.position(100)!, 200, accuracy: 1e-9)
        XCTAssertNil(s.position(0), "zero has no place on a log axis")
        XCTAssertNil(s.position(-1))
    }

    func testLogScaleOverDecadesTicksEveryDecade() {
        let s = Scale.log(covering: [0.00013, 0.07], from: 0, to: 400)
        XCTAssertEqual(s.lo, 1e-4, accuracy: 1e-12, "widened to whole decades")
        XCTAssertEqual(s.hi, 0.1, accuracy: 1e-12)
        XCTAssertEqual(s.ticks().map(\.label), ["1e-4", "0.001", "0.01", "0.1"])
        let p = s.ticks().map(\.position)
        XCTAssertEqual(p[1] - p[0], p[2] - p[1], accuracy: 1e-9, "decades are equally wide")
    }

    func testNarrowLogScaleTicksOneTwoFive() {
        let s = Scale.log(covering: [0.15, 0.9], from: 0, to: 300)
        let labels = s.ticks().map(\.label)
        XCTAssertTrue(labels.contains("0.2") && labels.contains("0.5"), "\(labels)")
        XCTAssertEqual(Scale.log(covering: [], from: 0, to: 1).lo, 1, "no positive value: 1…10")
    }

    // MARK: Categorical

    func testCategoricalBandsAndLabels() {
        let s = Scale.categorical(["16,16", "32,32", "16,32,64"], from: 0, to: 300)
        XCTAssertEqual(s.bandWidth, 100, accuracy: 1e-9)
        XCTAssertEqual(s.position(0)!, 50, accuracy: 1e-9)
        XCTAssertEqual(s.position(category: "16,32,64")!, 250, accuracy: 1e-9)
        XCTAssertNil(s.position(category: "64"))
        XCTAssertNil(s.position(3), "not a category index")
        XCTAssertNil(s.position(0.5))
        XCTAssertEqual(s.ticks().map(\.label), ["16,16", "32,32", "16,32,64"])
    }

    func testCategoricalYAxisAndManyCategoriesAreThinned() {
        let y = Scale.categorical(["a", "b"], from: 200, to: 0)
        XCTAssertEqual(y.position(0)!, 150, accuracy: 1e-9, "first category at the bottom")
        let many = Scale.categorical((0..<100).map { "v\($0)" }, from: 0, to: 500)
        let ticks = many.ticks(target: 5)
        XCTAssertLessThanOrEqual(ticks.count, 20)
        XCTAssertEqual(ticks.first?.label, "v0")
    }

    // MARK: Helpers

    func testRobustRangeLeavesOutADivergedRun() {
        let values = [0.91, 0.92, 0.93, 0.95, 0.94, 0.92, 0.96, 0.93, 0.94, 12.5]
        let r = robustRange(values)!
        XCTAssertEqual(r.lo, 0.91)
        XCTAssertLessThan(r.hi, 1.2, "the outlier does not stretch the axis")
        XCTAssertEqual(robustRange([0.5, 0.7])!.hi, 0.7, "few values: all shown")
        XCTAssertNil(robustRange([.nan]))
    }

    func testNumberFormatting() {
        XCTAssertEqual(formatValue(0.23203887713052163), "0.232")
        XCTAssertEqual(formatValue(0.0001), "0.0001")
        XCTAssertEqual(formatValue(0.00002), "2e-5")
        XCTAssertEqual(formatValue(128), "128")
        XCTAssertEqual(formatValue(0.9123456), "0.9123")
        XCTAssertEqual(formatValue(0.000025), "2.5e-5")
        XCTAssertEqual(formatValue(3_000_000), "3e6")
        XCTAssertEqual(formatValue(.nan), "NaN")
        XCTAssertEqual(coord(12.345), "12.3")
        XCTAssertEqual(coord(-0.26), "-0.3")
        XCTAssertEqual(coord(7), "7")
        XCTAssertEqual(formatTick(0.25, step: 0.05), "0.25")
        XCTAssertEqual(niceStep(0.13), 0.2, accuracy: 1e-12)
        XCTAssertEqual(niceStep(333), 500, accuracy: 1e-9)
    }

    func testPathBuilderBreaksAtGaps() {
        var p = PathBuilder()
        p.add(0, 0)
        p.add(10, 5)
        p.add(nil, 3)
        p.add(20, 5)
        p.add(30, .nan)
        XCTAssertEqual(p.d, "M0 0L10 5M20 5")
    }

    func testEscapingCoversMarkupAndQuotes() {
        XCTAssertEqual(htmlEscape("<a href=\"x\">'&'</a>"), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;")
    }

    /// A coordinate from an extreme logged value (±1e300 on a learning curve) is clamped, not an
    /// overflow trap.
    func testExtremeCoordinatesAreClamped() {
        XCTAssertEqual(coord(1e300), "1000000000")
        XCTAssertEqual(coord(-1e300), "-1000000000")
        XCTAssertEqual(coord(12.34), "12.3")
        XCTAssertEqual(coord(-0.24), "-0.2")
    }
}
