'use client';

/**
 * Says clearly when the inference service cannot be reached, and that annotating goes on:
 * the annotations already loaded stay visible, editable and exportable.
 */
export function ServiceBanner(props: {
  serviceError: string | null;
  databaseError: string | null;
  onRetry: () => void;
  /** The prediction overlay cannot reach the model server: it retries every `pollMs`. */
  modelOffline?: { pollMs: number; onRetry: () => void } | null;
}) {
  const { serviceError, databaseError, onRetry, modelOffline } = props;
  if (!serviceError && !databaseError && !modelOffline) return null;
  return (
    <div className="banners">
      {serviceError && (
        <div className="banner banner--warn" role="alert" data-testid="service-banner">
          <strong>The inference service is unavailable.</strong> {serviceError}{' '}
          <span className="banner__note">
            Candles cannot be loaded until it is back; your annotations stay visible, editable and exportable.
          </span>
          <button type="button" className="btn btn--small" onClick={onRetry}>
            Retry now
          </button>
        </div>
      )}
      {modelOffline && (
        <div className="banner banner--warn" role="status" data-testid="model-offline-banner">
          <strong>Model server offline.</strong>{' '}
          <span className="banner__note">
            Predictions are paused and their controls disabled; annotating works as usual. Reconnecting by itself
            (checks every {Math.round(modelOffline.pollMs / 1000)} s).
          </span>
          <button type="button" className="btn btn--small" data-testid="model-retry" onClick={modelOffline.onRetry}>
            Check now
          </button>
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
