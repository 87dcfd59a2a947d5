import type { Metadata } from 'next';
import type { ReactNode } from 'react';
// The theme and base styles first, then each area's (layout, chart, annotations, predictions).
import './globals.css';
import './styles/layout.css';
import './styles/chart.css';
import './styles/annotations.css';
import './styles/predictions.css';

export const metadata: Metadata = {
  title: 'Candle pattern annotator',
  description: 'Mark candle patterns on price charts and export them for training.',
};

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body>{children}</body>
    </html>
  );
}
