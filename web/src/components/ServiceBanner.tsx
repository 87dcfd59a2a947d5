'use client';

/**
 * One banner, in an annotator's words, when the inference service (candles, pairs) or the
 * model server (predictions) cannot be reached: what still works (annotations stay visible,
 * editable and exportable; the candles this browser kept are shown) and that it reconnects by
 * itself. The technical message is behind a "details" toggle. Database errors get a banner of
 * their own (saving is what fails then).
 */
export function ServiceBanner(props: {
  serviceError: string | null;
  databaseError: string | null;
  onRetry: () => void;
  /** The shown candles are the ones this browser kept (lib/candle-cache.ts). */
  fromCache?: boolean;
  /** The prediction overlay cannot reach the model server; `detail`: the technical message. */
  modelOffline?: { detail: string | null; onRetry: () => void } | null;
}) {
  const { serviceError, databaseError, onRetry, modelOffline, fromCache } = props;
  if (!serviceError && !databaseError && !modelOffline) return null;
  const details = [...new Set([serviceError, modelOffline?.detail].filter(Boolean))].join('\n');
  return (
    <div className="banners">
      {(serviceError || modelOffline) && (
        <div
          className="banner banner--warn"
          role={serviceError ? 'alert' : 'status'}
          data-testid={serviceError ? 'service-banner' : 'model-offline-banner'}
        >
          <strong>
            {serviceError ? 'The chart data service is unavailable right now.' : 'Predictions are paused: the model does not answer.'}
          </strong>{' '}
          <span className="banner__note">
            {serviceError
              ? `${fromCache ? 'Showing the candles this browser kept. ' : 'Candles appear as soon as it is back. '}Your annotations are safe: keep annotating, editing and exporting.`
              : 'Annotating works as usual.'}{' '}
            Reconnecting by itself.
          </span>
          {serviceError && modelOffline && (
            <span className="banner__note" data-testid="model-offline-banner">
              {' '}
              Predictions are paused too.
            </span>
          )}
          <button
            type="button"
            className="btn btn--small"
            data-testid={serviceError ? 'service-retry' : 'model-retry'}
            onClick={() => {
              if (serviceError) onRetry();
              modelOffline?.onRetry();
            }}
          >
            Retry now
          </button>
          {details && (
            <details className="banner__details" data-testid="banner-details">
              <summary>details</summary>
              <pre>{details}</pre>
            </details>
          )}
        </div>
      )}
      {databaseError && (
        <div className="banner banner--error" role="alert" data-testid="database-banner">
          <strong>Annotations cannot be read or saved.</strong> {databaseError}
        </div>
      )}
    </div>
  );
}
