import Scheduler
import Testing

@Suite struct CronScheduleTests {
    // 2026-11-28 10:07:30 UTC, a Saturday.
    let now: Int64 = 1_795_860_450

    func next(_ text: String, after: Int64? = nil) throws -> Int64 { try CronSchedule(text).next(after: after ?? now) }

    @Test func fieldSchedules() throws {
        #expect(try next("* * * * *") == 1_795_860_480)  // 10:08:00
        #expect(try next("*/15 * * * *") == 1_795_860_900)  // 10:15
        #expect(try next("0 * * * *") == 1_795_863_600)  // 11:00
        #expect(try next("@hourly") == 1_795_863_600)
        #expect(try next("30 2 * * *") == 1_795_919_400)  // 2026-11-29 02:30
        #expect(try next("@daily") == 1_795_910_400)  // 2026-11-29 00:00
        #expect(try next("0 9 * * 1-5") == 1_796_029_200)  // Monday 2026-11-30 09:00
        #expect(try next("0 0 * * 0") == 1_795_910_400)  // Sunday 2026-11-29
        #expect(try next("0 0 * * 7") == 1_795_910_400)  // 7 is Sunday too
        #expect(try next("@monthly") == 1_796_083_200)  // 2026-12-01
        #expect(try next("@yearly") == 1_798_761_600)  // 2027-01-01
        #expect(try next("0 12 29 2 *") == 1_835_438_400)  // the next 29 February: 2028-02-29 12:00
        // Both day fields restricted: either matches (the 1st, or any Monday).
        #expect(try next("0 0 1 * 1") == 1_795_996_800)  // Monday 2026-11-30 00:00 comes before 1 December
        #expect(try next("5,10 10 * * *") == 1_795_860_600)  // 10:10
        #expect(try next("0-30/10 10 * * *", after: 1_795_860_600) == 1_795_861_200)  // 10:20
    }

    @Test func intervalsAndCatchingUp() throws {
        let every = try CronSchedule("@every 30s")
        #expect(every.next(after: 60) == 90 && every.next(after: 89) == 90)
        #expect(try CronSchedule("@every 5m").next(after: 0) == 300)
        #expect(try CronSchedule("@every 2h").next(after: 7_199) == 7_200)
        // After a pause only the latest missed tick is due.
        let minutely = try CronSchedule("* * * * *")
        #expect(minutely.latest(atOrBefore: 1_000, notBefore: 100) == 960)
        #expect(minutely.latest(atOrBefore: 959, notBefore: 950) == nil)
        #expect(every.latest(atOrBefore: 95, notBefore: 0) == 90)
    }

    @Test(arguments: ["", "* * * *", "* * * * * *", "60 * * * *", "* 24 * * *", "* * 0 * *", "* * * 13 *", "* * * * 8", "*/0 * * * *",
                      "a * * * *", "5-1 * * * *", "@every", "@every 0s", "@every 5d", "@weird"])
    func badSchedulesAreRefused(text: String) {
        #expect(throws: CronSchedule.ParseError.self) { try CronSchedule(text) }
    }
}
