package postgres

import "time"

// WithReconnectBackoff sets the delays between the change feed's attempts
// to reconnect (50ms doubling to 5s otherwise), for the tests of the feed.
func WithReconnectBackoff(min, max time.Duration) Option {
	return func(o *options) error {
		o.reconnectMin, o.reconnectMax = min, max
		return nil
	}
}
