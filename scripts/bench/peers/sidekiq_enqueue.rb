# Enqueue N no-op Sidekiq jobs: SINGLE one at a time, the rest with push_bulk in chunks of 1000.
# Prints "single_per_second bulk_per_second".
require 'sidekiq'
require_relative 'noop_sidekiq'

total = Integer(ARGV[0])
single = Integer(ARGV[1])
started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
single.times { NoopJob.perform_async }
single_seconds = Process.clock_gettime(Process::CLOCK_MONOTONIC) - started
started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
remaining = total
while remaining > 0
  count = [remaining, 1000].min
  Sidekiq::Client.push_bulk('class' => NoopJob, 'args' => Array.new(count) { [] })
  remaining -= count
end
bulk_seconds = Process.clock_gettime(Process::CLOCK_MONOTONIC) - started
puts format('%.0f %.0f', single.positive? ? single / single_seconds : 0, total / bulk_seconds)
