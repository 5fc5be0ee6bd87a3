import type { Metadata } from "next";
import type { ReactNode } from "react";
import { Shell } from "./_components/Shell";
import "./globals.css";

export const metadata: Metadata = { title: "Torpor", description: "Sandboxes asleep, files safe." };

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body>
        <Shell>{children}</Shell>
      </body>
    </html>
  );
}
