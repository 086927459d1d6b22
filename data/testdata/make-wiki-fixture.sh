#!/bin/sh
# Writes wiki-multistream.xml.bz2: a tiny MediaWiki XML dump in two
# concatenated bzip2 streams, as enwiki-*-pages-articles-multistream.xml.bz2
# is laid out (header and the first pages in one stream, the rest and the
# closing tag in the next). Needs the bzip2 tool (Debian package bzip2).
set -eu
cd "$(dirname "$0")"
cat > /tmp/wiki-a.xml <<'XML'
<mediawiki xmlns="http://www.mediawiki.org/xml/export-0.11/" version="0.11" xml:lang="en">
  <siteinfo>
    <sitename>Wikipedia</sitename>
    <dbname>enwiki</dbname>
  </siteinfo>
  <page>
    <title>Alan Turing</title>
    <ns>0</ns>
    <id>1208</id>
    <revision>
      <id>1</id>
      <text bytes="1" xml:space="preserve">{{Short description|English mathematician (1912–1954)}}
{{Infobox scientist
| name = Alan Turing
| birth_date = {{birth date|1912|6|23|df=y}}
}}
'''Alan Mathison Turing''' (23 June 1912 – 7 June 1954) was an English [[mathematician]], [[computer science|computer scientist]] and [[logic]]ian.&lt;ref name="odnb"&gt;{{cite web |title=Turing}}&lt;/ref&gt; He was highly influential in the development of [[theoretical computer science]].&lt;ref&gt;Newman 1955&lt;/ref&gt;
[[File:Alan Turing Aged 16.jpg|thumb|Turing aged 16 at [[Sherborne School]]]]

== Early life ==
Turing was born in [[Maida Vale]], London.&lt;!-- a comment --&gt; His father was in the ''Indian Civil Service''.
* A list item that is not prose
{| class="wikitable"
|-
! Year !! Event
|-
| 1936 || On Computable Numbers
|}
See [https://www.example.org the archive] for more.

== References ==
{{Reflist}}
* Hodges, Andrew (1983). ''Alan Turing: The Enigma''.

[[Category:1912 births]]
[[de:Alan Turing]]</text>
    </revision>
  </page>
  <page>
    <title>Turing</title>
    <ns>0</ns>
    <id>1209</id>
    <redirect title="Alan Turing" />
    <revision>
      <id>2</id>
      <text xml:space="preserve">#REDIRECT [[Alan Turing]]</text>
    </revision>
  </page>
  <page>
    <title>Talk:Alan Turing</title>
    <ns>1</ns>
    <id>1210</id>
    <revision>
      <id>3</id>
      <text xml:space="preserve">This talk page is not an article.</text>
    </revision>
  </page>
XML
cat > /tmp/wiki-b.xml <<'XML'
  <page>
    <title>Ada Lovelace</title>
    <ns>0</ns>
    <id>974</id>
    <revision>
      <id>4</id>
      <text xml:space="preserve">'''Augusta Ada King, Countess of Lovelace''' was an English mathematician and writer,
chiefly known for her work on [[Charles Babbage]]'s proposed mechanical general-purpose computer, the [[Analytical Engine]].

She was the first to recognise that the machine had applications beyond pure calculation &amp;amp; published the first algorithm.</text>
    </revision>
  </page>
</mediawiki>
XML
bzip2 -c /tmp/wiki-a.xml > wiki-multistream.xml.bz2
bzip2 -c /tmp/wiki-b.xml >> wiki-multistream.xml.bz2
rm /tmp/wiki-a.xml /tmp/wiki-b.xml
