// A text filter that applies itself once typing rests (or at once on Enter),
// so every filter of a list applies the same way without a button.
import { useEffect, useRef, useState, type InputHTMLAttributes } from "react";
import { TYPING_DELAY_MS } from "../lib/filters";

export function TypingInput({
  value,
  onValue,
  ...props
}: { value: string; onValue: (value: string) => void } & Omit<InputHTMLAttributes<HTMLInputElement>, "value" | "onChange">) {
  const [text, setText] = useState(value);
  const applied = useRef(value);
  const push = useRef(onValue);
  push.current = onValue;
  // A value changed elsewhere (cleared filters, back button) replaces the text.
  useEffect(() => {
    applied.current = value;
    setText(value);
  }, [value]);
  useEffect(() => {
    if (text === applied.current) return;
    const timer = setTimeout(() => {
      applied.current = text;
      push.current(text);
    }, TYPING_DELAY_MS);
    return () => clearTimeout(timer);
  }, [text]);
  return (
    <input
      {...props}
      value={text}
      onChange={(e) => setText(e.target.value)}
      onKeyDown={(e) => {
        if (e.key === "Enter" && text !== applied.current) {
          applied.current = text;
          onValue(text);
        }
      }}
    />
  );
}
