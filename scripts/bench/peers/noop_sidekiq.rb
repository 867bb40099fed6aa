# A no-op Sidekiq job on the "bench" queue, for scripts/bench/job-peers.
require 'sidekiq'

class NoopJob
  include Sidekiq::Worker
  sidekiq_options queue: 'bench', retry: 3

  def perform; end
end
