"use client";
/** The dashboard frame: navigation, and a token form when no token is known yet. */
import Link from "next/link";
import { usePathname } from "next/navigation";
import { useState, type ReactNode } from "react";
import { ApiProvider, useApi } from "./api";

function TokenForm() {
  const { setToken } = useApi();
  const [value, setValue] = useState("");
  return (
    <form
      className="card token"
      onSubmit={(e) => {
        e.preventDefault();
        if (value.trim()) setToken(value.trim());
      }}
    >
      <h1>Sign in</h1>
      <p>
        Open the dashboard link that <code>npm start</code> printed, or paste a bearer token (an HS256 JWT signed with
        TORPOR_AUTH_SECRET).
      </p>
      <input aria-label="Token" value={value} onChange={(e) => setValue(e.target.value)} placeholder="eyJhbGciOi…" />
      <button type="submit">Use token</button>
    </form>
  );
}

function Frame({ children }: { children: ReactNode }) {
  const { token, setToken } = useApi();
  const path = usePathname();
  return (
    <>
      <header className="top">
        <Link href="/" className="brand">
          Torpor
        </Link>
        <nav>
          <Link href="/" className={path === "/" || path.startsWith("/sessions") ? "active" : undefined}>
            Sessions
          </Link>
          <Link href="/runs" className={path === "/runs" ? "active" : undefined}>
            Runs
          </Link>
          <Link href="/overview" className={path === "/overview" ? "active" : undefined}>
            Overview
          </Link>
        </nav>
        {token && (
          <button type="button" className="link" onClick={() => setToken(null)}>
            Sign out
          </button>
        )}
      </header>
      <main>{token ? children : <TokenForm />}</main>
    </>
  );
}

export function Shell({ children }: { children: ReactNode }) {
  return (
    <ApiProvider>
      <Frame>{children}</Frame>
    </ApiProvider>
  );
}
